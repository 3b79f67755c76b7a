/**
 * Fake time for a whole test file: setTimeout and Date from node:test's mock
 * timers, starting at 1,000 ms, and performance.now read from the mocked
 * Date so that the clocks the code reads move together.
 */
import { afterEach, beforeEach, mock } from "node:test";

export function useFakeClock(): void {
  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000 });
    mock.method(performance, "now", () => Date.now());
  });
  afterEach(() => {
    mock.timers.reset();
    mock.restoreAll();
  });
}
