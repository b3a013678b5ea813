// A live line chart over metric rows, drawn by uPlot (a streaming time-series library). New rows
// are batched into one redraw per animation frame, so tens of points per second stay smooth.
// The chart can be saved as PNG; it is labelled for screen readers with its latest values. A chart
// says under its title what it measures (the TRL key for those who know it) and which way is
// better; a reference line (chance on an accuracy chart) is a series with a constant value. The
// y axis is as wide as its longest tick label, so a minus sign is never clipped.
import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { downloadBlob } from './downloadBlob.ts';

export interface ChartSeries {
  /** Key of the metric in each row. */
  key: string;
  label: string;
  color: string;
  /** Dash pattern in pixels, e.g. [6, 4], for a line that must stay visible over another. */
  dash?: number[];
  /** Drawn at this value on every row (a reference line such as chance), not read from the rows. */
  constant?: number;
}

interface LiveChartProps {
  title: string;
  rows: readonly Record<string, number>[];
  /** Key of the x value in each row (e.g. step, iteration). */
  x: string;
  series: ChartSeries[];
  /** One line under the title: what the chart measures, the TRL key, which way is better and why. */
  note?: string;
  height?: number;
}

/** Rows as uPlot's aligned columns: x, then one column per series (null where a row lacks it). */
export function alignedData(
  rows: readonly Record<string, number>[],
  x: string,
  series: readonly ChartSeries[],
): uPlot.AlignedData {
  const value = (row: Record<string, number>, s: ChartSeries) =>
    s.constant ?? (Number.isFinite(row[s.key]) ? row[s.key] : null);
  const kept = rows.filter((row) => Number.isFinite(row[x]));
  return [kept.map((row) => row[x]), ...series.map((s) => kept.map((row) => value(row, s)))];
}

/** uPlot's padded range, except that a flat line at 0 (e.g. a clip fraction of 0) gets [0, 1], not [0, 100]. */
function valueRange(_chart: uPlot, min: number, max: number): uPlot.Range.MinMax {
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    return [min >= 0 && min - pad < 0 ? 0 : min - pad, max + pad];
  }
  return uPlot.rangeNum(min, max, 0.1, true);
}

const AXIS_FONT = '12px system-ui, sans-serif';
let measuring: CanvasRenderingContext2D | null | undefined;

/** The y axis's width in CSS pixels: its longest tick label (a leading minus sign included), the ticks and a gap. */
function yAxisSize(_chart: uPlot, values: string[] | null): number {
  measuring ??= document.createElement('canvas').getContext('2d');
  if (!measuring) return 60;
  measuring.font = AXIS_FONT;
  const widest = Math.max(0, ...(values ?? []).map((value) => measuring!.measureText(value).width));
  return Math.ceil(widest) + 18;
}

function latest(rows: readonly Record<string, number>[], key: string): string {
  for (let i = rows.length - 1; i >= 0; i--) if (Number.isFinite(rows[i][key])) return rows[i][key].toPrecision(3);
  return 'none yet';
}

export function LiveChart({ title, rows, x, series, note, height = 180 }: LiveChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const frame = useRef(0);
  const pending = useRef({ rows, x, series });
  useLayoutEffect(() => {
    pending.current = { rows, x, series };
  });

  useEffect(() => {
    const element = container.current!;
    const options: uPlot.Options = {
      width: Math.max(240, element.clientWidth),
      height,
      scales: { x: { time: false }, y: { range: valueRange } },
      // x is a step or iteration count: whole-number ticks only.
      axes: [
        { label: x, font: AXIS_FONT, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
        { font: AXIS_FONT, size: yAxisSize },
      ],
      series: [
        { label: x },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          dash: s.dash,
          width: 2,
          spanGaps: true,
          points: { size: 6, fill: s.color },
        })),
      ],
      legend: { live: false },
    };
    const chart = new uPlot(
      options,
      alignedData(pending.current.rows, pending.current.x, pending.current.series),
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(240, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      cancelAnimationFrame(frame.current);
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series change; data flows in through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [height, x, series.map((s) => s.key).join(',')]);

  useEffect(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const { rows: r, x: key, series: s } = pending.current;
      plot.current?.setData(alignedData(r, key, s));
    });
  }, [rows]);

  const savePng = () => {
    plot.current?.ctx.canvas.toBlob(
      (blob) => blob && downloadBlob(`${title.replace(/\W+/g, '-').toLowerCase()}.png`, blob),
    );
  };
  const summary = series
    .filter((s) => s.constant === undefined)
    .map((s) => `${s.label} ${latest(rows, s.key)}`)
    .join(', ');
  return (
    <figure className="live-chart">
      <figcaption>
        <span>{title}</span>
        <button type="button" className="small" onClick={savePng} aria-label={`Save the ${title} chart as PNG`}>
          PNG
        </button>
      </figcaption>
      {note && <p className="chart-note">{note}</p>}
      <div
        ref={container}
        role="img"
        aria-label={`${title}: ${rows.length} points; latest ${summary}`}
        data-testid={`chart-${title}`}
        data-points={rows.length}
      />
    </figure>
  );
}
