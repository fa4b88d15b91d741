/**
 * The notebook's Markdown renderer, loaded in the background once the page has started (marked
 * and DOMPurify compile many regular expressions when they load; this keeps that off the path to
 * the first usable editor). `render` is undefined until loaded.
 */
export class MarkdownRenderer {
  render = $state.raw<((source: string) => string) | undefined>(undefined);
  failure = $state<string | undefined>(undefined);

  /** `when(load)` calls `load` when the page is ready for it (Startup.whenSettled); at once when unset. */
  constructor(when: (load: () => void) => void = (load) => load()) {
    when(() => {
      import("../markdown.ts").then(
        (m) => {
          this.render = m.createMarkdownRenderer();
        },
        (e: Error) => {
          this.failure = `could not load the Markdown renderer: ${e.message}`;
        },
      );
    });
  }
}
