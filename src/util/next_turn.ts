/**
 * A promise settled on a later turn of the event loop, after pending I/O
 * callbacks: long work split into steps awaits it between steps, so no one
 * request holds the loop for the whole of it. `setImmediate`, not
 * `setTimeout(0)`: under Deno 2.9 a zero timeout fires 1–2 ms later
 * (millisecond timer granularity), which a loop of steps would add up.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
