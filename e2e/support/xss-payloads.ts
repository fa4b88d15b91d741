/**
 * Script-injection payloads for checking that text from people and data sources stays text:
 * markup, event handlers, URL schemes, attribute and element breakouts, template and CSS tricks.
 * A page (or an export) is safe when none of them runs, becomes an element, or loads anything.
 */
export const XSS_PAYLOADS: readonly string[] = [
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(2)>",
  '<img src="x" onerror="alert(3)">',
  "<svg onload=alert(4)>",
  "<svg><script>alert(5)</script></svg>",
  "<iframe src=javascript:alert(6)></iframe>",
  '<a href="javascript:alert(7)">click</a>',
  "[md link](javascript:alert(8))",
  "![md image](javascript:alert(9))",
  '<body onload="alert(10)">',
  "<details open ontoggle=alert(11)>",
  '<input autofocus onfocus="alert(12)">',
  '"><script>alert(13)</script>',
  "'><img src=x onerror=alert(14)>",
  "</script><script>alert(15)</script>",
  "</style><script>alert(16)</script>",
  "</textarea><script>alert(17)</script>",
  "<math><mtext><table><mglyph><style><img src=x onerror=alert(18)>",
  "<object data=javascript:alert(19)>",
  "<embed src=javascript:alert(20)>",
  '<form action="javascript:alert(21)"><button>x</button></form>',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(22)">',
  "<base href=javascript:alert(23)//>",
  '<link rel="stylesheet" href="https://evil.example/x.css">',
  "<style>@import 'https://evil.example/x.css';</style>",
  '<div style="background:url(javascript:alert(24))">',
  "{{constructor.constructor('alert(25)')()}}",
  "${alert(26)}",
  "<scr<script>ipt>alert(27)</scr</script>ipt>",
  "javascript:alert(28)",
  "data:text/html,<script>alert(29)</script>",
  "\u202e<img src=x onerror=alert(30)>",
];
