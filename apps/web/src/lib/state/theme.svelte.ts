/** Light/dark theme, kept in localStorage (`databook.theme`) and applied as `<html data-theme>`. */
export type ThemeName = "light" | "dark";

export class Theme {
  current = $state<ThemeName>("light");

  constructor() {
    const attr = document.documentElement.dataset.theme;
    this.current = attr === "dark" ? "dark" : "light";
  }

  set(name: ThemeName): void {
    this.current = name;
    document.documentElement.dataset.theme = name;
    try {
      localStorage.setItem("databook.theme", name);
    } catch {
      // private mode: the choice lasts for this page only
    }
  }

  toggle(): void {
    this.set(this.current === "dark" ? "light" : "dark");
  }
}
