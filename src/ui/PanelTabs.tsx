// The tab bar of the lab's seven panels (WAI-ARIA tabs): the selected tab is the lesson's
// `panel`, kept in the URL. Arrow keys, Home and End move between tabs and open them. On a narrow
// screen the bar is one row that scrolls sideways, and the selected tab is scrolled into view.
import { useEffect, useRef, type KeyboardEvent } from 'react';
import { PANELS, selectPanel, useLessonStore, type PanelId } from '../store/lessonStore.ts';

export const tabId = (panel: PanelId) => `tab-${panel}`;
export const tabPanelId = (panel: PanelId) => `tabpanel-${panel}`;

const KEY_STEPS: Record<string, (index: number) => number> = {
  ArrowRight: (index) => (index + 1) % PANELS.length,
  ArrowLeft: (index) => (index - 1 + PANELS.length) % PANELS.length,
  Home: () => 0,
  End: () => PANELS.length - 1,
};

export function PanelTabs() {
  const panel = useLessonStore(selectPanel);
  const setPanel = useLessonStore((state) => state.setPanel);
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  useEffect(() => {
    tabs.current[PANELS.findIndex((p) => p.id === panel)]?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
  }, [panel]);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const step = KEY_STEPS[event.key];
    if (!step) return;
    event.preventDefault();
    const next = step(PANELS.findIndex((p) => p.id === panel));
    setPanel(PANELS[next].id);
    tabs.current[next]?.focus();
  };
  return (
    <div role="tablist" aria-label="Lab panels" className="panel-tabs" onKeyDown={onKeyDown}>
      {PANELS.map((p, i) => (
        <button
          key={p.id}
          ref={(element) => {
            tabs.current[i] = element;
          }}
          type="button"
          role="tab"
          id={tabId(p.id)}
          aria-selected={p.id === panel}
          aria-controls={p.id === panel ? tabPanelId(p.id) : undefined}
          tabIndex={p.id === panel ? 0 : -1}
          onClick={() => setPanel(p.id)}
        >
          <span className="tab-step" aria-hidden="true">
            {i + 1}
          </span>{' '}
          {p.title}
        </button>
      ))}
    </div>
  );
}
