import { expect } from 'vitest';
import { parseScenarioText } from '../src/config/load.js';
import { MeshbenchError } from '../src/errors.js';

/** The problems a scenario text is rejected with (each names its field path); fails the test when it is accepted. */
export function problemsOf(text: string): string[] {
  try {
    parseScenarioText(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(MeshbenchError);
    return [...(err as MeshbenchError).problems];
  }
  throw new Error('expected the scenario to be rejected');
}
