/**
 * A timeline: the moments one process reaches while it starts a container, for `npm run bench` to say where the
 * time goes — spec in hand, resources made, init launched, init ready, host's part done, command exec'd — measured
 * inside the process rather than guessed from outside. Each mark is milliseconds since the process started
 * (`performance.now()`), so the first one also says what Node's start-up and module loading took.
 */
export interface Mark {
  what: string;
  /** Milliseconds since this process started. */
  at: number;
}

export class Timeline {
  readonly marks: Mark[] = [];

  constructor(private readonly clock: () => number = () => performance.now()) {}

  mark(what: string): void {
    this.marks.push({ what, at: this.clock() });
  }

  /** Milliseconds from the first mark named `from` to the first named `to`; undefined if either is missing. */
  between(from: string, to: string): number | undefined {
    const a = this.marks.find((m) => m.what === from);
    const b = this.marks.find((m) => m.what === to);
    return a && b ? b.at - a.at : undefined;
  }
}
