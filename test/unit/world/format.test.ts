// Tests for the chat frame shared by pretraining, SFT, the reward model and PPO.
import { describe, expect, it } from 'vitest';
import {
  EOS,
  extractResponse,
  formatExample,
  formatPrompt,
  formatResponse,
  joinDocuments,
} from '../../../src/world/format.ts';

describe('chat format', () => {
  it('frames a prompt and a response', () => {
    expect(EOS).toBe('<|endoftext|>');
    expect(formatPrompt('What colour is a frog?')).toBe('Human: What colour is a frog?\nAssistant:');
    expect(formatResponse('A frog is green.')).toBe(' A frog is green.<|endoftext|>');
    expect(formatExample('Hi?', 'Hello.')).toBe('Human: Hi?\nAssistant: Hello.<|endoftext|>');
  });

  it('separates documents with EOS', () => {
    expect(joinDocuments(['a', 'b'])).toBe(`a${EOS}b${EOS}`);
  });

  it('extracts the response from a sampled completion', () => {
    expect(extractResponse(' A frog is green.<|endoftext|>Human: more')).toBe('A frog is green.');
    expect(extractResponse(' A frog is green.\nHuman: And a duck?\nAssistant: Yellow.')).toBe('A frog is green.');
    expect(extractResponse(' no end yet')).toBe('no end yet');
  });
});
