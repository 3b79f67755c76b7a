import { singleton } from "forkrpc";

export interface Note {
  readonly id: number;
  readonly text: string;
  readonly tags: readonly string[];
  readonly by: string;
}

/**
 * The app's state, one per worker process: a real app would keep it in a
 * database; each worker has its own copy here.
 */
@singleton()
export class NoteStore {
  readonly #notes: Note[] = [];

  add(text: string, tags: readonly string[], by: string): Note {
    const note = { id: this.#notes.length + 1, text, tags, by };
    this.#notes.push(note);
    return note;
  }

  find(tag: string | undefined): Note[] {
    return tag === undefined ? [...this.#notes] : this.#notes.filter((n) => n.tags.includes(tag));
  }
}
