"""A corpus of XSS payloads for the browser tests (tests/browser/test_xss.py).

Every payload that could run script calls `__xss(ID)` where an attacker would put `alert(1)`
(or `parent.__xss(ID)` from inside a frame), so an execution is observable: the test page
defines `window.__xss = id => (window.__xssHits = window.__xssHits || []).push(id)` before any
script of the page runs. A few payloads are template-injection or encoding probes that cannot
run by themselves; they carry `#ID` so they can still be found in a page.

Placeholders in the templates below (replaced for each payload by `_build`):
    $X      __xss(ID)
    $PX     parent.__xss(ID)
    $ID     the number
    $B64H   base64 of `<script>parent.__xss(ID)</script>` (for data:text/html URLs)
    $B64J   base64 of `__xss(ID)` (for atob/eval tricks)
    $ENTX   `__xss(ID)` written as decimal HTML character references
    $URLX   `__xss(ID)` percent-encoded (javascript: URLs are percent-decoded before running)
"""

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class Payload:
    id: int
    kind: str
    text: str

    @property
    def marker(self) -> str:
        return f"__xss({self.id})"


_TEMPLATES: list[tuple[str, str]] = [
    # --- script tags: case, nesting, broken and unclosed ---------------------------------
    ("script", "<script>$X</script>"),
    ("script", "<SCRIPT>$X</SCRIPT>"),
    ("script", "<ScRiPt>$X</sCrIpT>"),
    ("script", "<script>$X"),
    ("script", "<script\n>$X</script\n>"),
    ("script", "<scr<script>ipt>$X</scr</script>ipt>"),
    ("script", "<<script>script>$X<</script>/script>"),
    ("script", "<script/x>$X</script>"),
    ("script", '<script type="text/javascript">$X</script>'),
    ("script", '<script type="module">$X</script>'),
    ("script", "<script>/*</script><script>*/$X</script>"),
    ("script", "</p><script>$X</script><p>"),
    ("script", '<script src="data:text/javascript,$X"></script>'),
    ("script", '<script x=">">$X</script>'),
    ("script", "<noscript><script>$X</script></noscript>"),
    ("script", "<div><p><script>$X</script></p></div>"),
    ("script", "<script\t>$X</script>"),
    ("script", "<script>$X<!--"),
    # --- event handlers -------------------------------------------------------------------
    ("event", "<img src=x onerror=$X>"),
    ("event", "<IMG SRC=x ONERROR=$X>"),
    ("event", '<img src="x" onerror="$X">'),
    ("event", "<img/src=x/onerror=$X>"),
    ("event", "<img src=x onerror\t=\t$X>"),
    ("event", "<img src=x onerror=&#95;&#95;xss&#40;$ID&#41;>"),
    ("event", "<img src=x onerror=javascript:$X>"),
    ("event", "<img src=x onerror=$X//"),
    ("event", '<img src=x onerror="$X"'),
    ("event", '<img """><script>$X</script>">'),
    ("event", "<image src=x onerror=$X>"),
    ("event", "<body onload=$X>"),
    ("event", '<div onmouseover="$X">hover me</div>'),
    ("event", "<a onmouseover=$X>hover</a>"),
    ("event", "<span onmouseenter=$X>enter</span>"),
    ("event", "<p onpointerover=$X onclick=$X>pointer</p>"),
    ("event", "<xss onpointerenter=$X>custom element</xss>"),
    ("event", "<input autofocus onfocus=$X>"),
    ("event", "<textarea autofocus onfocus=$X></textarea>"),
    ("event", "<select autofocus onfocus=$X><option>o</option></select>"),
    ("event", "<button autofocus onfocus=$X>b</button>"),
    ("event", "<div tabindex=1 autofocus onfocusin=$X>focus</div>"),
    ("event", "<details open ontoggle=$X>"),
    ("event", "<details ontoggle=$X open><summary>s</summary>d</details>"),
    ("event", "<video><source onerror=$X></video>"),
    ("event", "<audio src=x onerror=$X>"),
    ("event", "<marquee onstart=$X>m</marquee>"),
    ("event", "<object data=x onerror=$X></object>"),
    ("event", "<input type=image src=x onerror=$X>"),
    ("event", "<div contenteditable autofocus onblur=$X onfocus=$X>ce</div>"),
    # --- javascript:, data:, vbscript: URLs in HTML ---------------------------------------
    ("url", '<a href="javascript:$X">js link</a>'),
    ("url", '<a href="JaVaScRiPt:$X">js link</a>'),
    ("url", '<a href="jav&#x09;ascript:$X">tab link</a>'),
    ("url", '<a href="jav&#x0A;ascript:$X">newline link</a>'),
    ("url", '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;$X">entity link</a>'),
    ("url", '<a href=" javascript:$X">space link</a>'),
    ("url", '<a href="\x01javascript:$X">control link</a>'),
    ("url", '<a href="javascript:$ENTX">entity body</a>'),
    ("url", '<a href="javascript:$URLX">percent body</a>'),
    ("url", '<a href="vbscript:$X">vb link</a>'),
    ("url", '<a href="data:text/html;base64,$B64H">data link</a>'),
    ("url", '<a href="data:text/html,<script>$PX</script>">data link</a>'),
    # --- Markdown links, images, references, autolinks ------------------------------------
    ("markdown", "[x](javascript:$X)"),
    ("markdown", "[x](JaVaScRiPt:$X)"),
    ("markdown", "[x](jav&#x09;ascript:$X)"),
    ("markdown", "[x](&#x6A;avascript:$X)"),
    ("markdown", "[x](javascript&colon;$X)"),
    ("markdown", "[x](<javascript:$X>)"),
    ("markdown", "[x](  javascript:$X  )"),
    ("markdown", "[x](vbscript:$X)"),
    ("markdown", "[x](data:text/html;base64,$B64H)"),
    ("markdown", "[x](javascript://%0A$X)"),
    ("markdown", "[x](javascript:/**/$X)"),
    ("markdown", "[x](java%0ascript:$X)"),
    ("markdown", "<javascript:$X>"),
    ("markdown", "<JAVASCRIPT:$X>"),
    ("markdown", "<vbscript:$X>"),
    ("markdown", "[ref link][evil]\n\n[evil]: javascript:$X"),
    ("markdown", '[ref link][evil]\n\n[evil]: <javascript:$X> "title"'),
    ("markdown", "![x](javascript:$X)"),
    ("markdown", '![x](x" onerror="$X)'),
    ("markdown", '![x](https://example.invalid/x.png" onerror="$X)'),
    ("markdown", '![x" onerror="$X](https://example.invalid/x.png)'),
    ("markdown", '[x](https://example.com "a\\" onmouseover=\\"$X")'),
    ("markdown", "[x](https://example.com 'a\" onmouseover=\"$X')"),
    ("markdown", "[<img src=x onerror=$X>](https://example.com)"),
    ("markdown", '[x](https://example.com/"onmouseover="$X")'),
    ("markdown", '<https://example.com/"onmouseover="$X">'),
    ("markdown", "`<script>$X</script>`"),
    ("markdown", "```html\n<script>$X</script>\n<img src=x onerror=$X>\n```"),
    ("markdown", "    <script>$X</script>"),
    ("markdown", "| a | b |\n|---|---|\n| <script>$X</script> | <img src=x onerror=$X> |"),
    ("markdown", "# <img src=x onerror=$X>"),
    ("markdown", "**<img src=x onerror=$X>** _<svg onload=$X>_"),
    ("markdown", "> <script>$X</script>\n> > <img src=x onerror=$X>"),
    ("markdown", "@admin<img src=x onerror=$X> @xss_$ID\"onmouseover=\"$X"),
    ("markdown", "[x](https://example.com)<!-- --><img src=x onerror=$X>"),
    # --- SVG and MathML ---------------------------------------------------------------------
    ("svg", "<svg onload=$X>"),
    ("svg", "<svg/onload=$X>"),
    ("svg", "<svg><script>$X</script></svg>"),
    ("svg", '<svg><script href="data:,$X"/></svg>'),
    ("svg", '<svg><a xlink:href="javascript:$X"><text x="20" y="20">svg link</text></a></svg>'),
    ("svg", '<svg><a href="javascript:$X"><rect width="100" height="100"/></a></svg>'),
    ("svg", "<svg><animate onbegin=$X attributeName=x dur=1s>"),
    ("svg", '<svg><set attributeName="onmouseover" to="$X"/></svg>'),
    ("svg", "<svg><foreignObject><img src=x onerror=$X></foreignObject></svg>"),
    ("svg", "<svg><style><img src=x onerror=$X></style></svg>"),
    ("svg", '<math><maction actiontype="statusline" xlink:href="javascript:$X">math</maction></math>'),
    ("svg", "<math><mtext><table><mglyph><style><img src=x onerror=$X>"),
    # --- frames, objects, base, meta refresh, forms -----------------------------------------
    ("embed", '<iframe src="javascript:$X"></iframe>'),
    ("embed", '<iframe srcdoc="<script>$PX</script>"></iframe>'),
    ("embed", '<iframe src="data:text/html;base64,$B64H"></iframe>'),
    ("embed", "<iframe onload=$X></iframe>"),
    ("embed", '<object data="javascript:$X"></object>'),
    ("embed", '<object data="data:text/html;base64,$B64H"></object>'),
    ("embed", '<embed src="javascript:$X">'),
    ("embed", '<embed src="data:text/html;base64,$B64H">'),
    ("embed", '<base href="javascript:$X//">'),
    ("embed", '<meta http-equiv="refresh" content="0;url=javascript:$X">'),
    ("embed", '<form action="javascript:$X"><button>go</button></form>'),
    ("embed", '<form><button formaction="javascript:$X">go</button></form>'),
    ("embed", '<isindex action="javascript:$X" type=image>'),
    ("embed", '<link rel="stylesheet" href="javascript:$X">'),
    ("embed", "<frameset onload=$X>"),
    ("embed", "<template><img src=x onerror=$X></template>"),
    ("embed", '<noscript><p title="</noscript><img src=x onerror=$X>"></noscript>'),
    ("embed", "<title><img src=x onerror=$X></title>"),
    # --- style-based ------------------------------------------------------------------------
    ("style", '<div style="background:url(javascript:$X)">styled</div>'),
    ("style", '<div style="width: expression($X)">expr</div>'),
    ("style", '<style>@import "javascript:$X";</style>'),
    ("style", '<style>body{background:url("javascript:$X")}</style>'),
    ("style", "<style></style><img src=x onerror=$X>"),
    ("style", '<div style="animation-name:x" onanimationstart="$X">anim</div>'),
    ("style", '<span style="x:\\65xpression($X)">escaped expr</span>'),
    # --- htmx attributes (the page runs htmx: user HTML must never carry hx-*) --------------
    ("htmx", '<div hx-get="/" hx-trigger="load" hx-on::after-request="$X">hx</div>'),
    ("htmx", '<a hx-on:click="$X" hx-on:mouseover="$X">hx-on</a>'),
    ("htmx", '<img src=x hx-on:error="$X">'),
    ("htmx", '<div data-hx-on:mouseover="$X">data-hx-on</div>'),
    ("htmx", "<div hx-vals='js:{a:$X}' hx-get=\"/\" hx-trigger=\"load\">hx-vals</div>"),
    ("htmx", '<div hx-get="data:text/html,<img src=x onerror=$X>" hx-trigger="load">hx-get data</div>'),
    ("htmx", '<div hx-swap-oob="beforeend:body"><img src=x onerror=$X></div>'),
    # --- template-injection-looking strings (must come out literally) -----------------------
    ("template", "{{7*7}} ${7*7} #{7*7} <%= 7*7 %> #$ID"),
    ("template", "{% raw %}<img src=x onerror=$X>{% endraw %}"),
    ("template", "{{constructor.constructor('$X')()}}"),
    ("template", "{{ self.__init__.__globals__ }} {{ config }} {{ request }} #$ID"),
    ("template", "{{'<img src=x onerror=$X>'|safe}}"),
    ("template", "${$X}"),
    ("template", "{% include 'base.html' %}{% endraw %}{{ 7*'7' }} #$ID"),
    ("template", "[[${$X}]] {{=$X}}"),
    # --- breaking out of attributes, titles, textareas, scripts, JSON -----------------------
    ("breakout", '"><img src=x onerror=$X>'),
    ("breakout", "'><img src=x onerror=$X>"),
    ("breakout", '" onmouseover="$X'),
    ("breakout", "' onmouseover='$X"),
    ("breakout", '" autofocus onfocus="$X" x="'),
    ("breakout", "</title><script>$X</script>"),
    ("breakout", "</textarea><script>$X</script>"),
    ("breakout", "</option></select><img src=x onerror=$X>"),
    ("breakout", "</style><script>$X</script>"),
    ("breakout", "</script><script>$X</script>"),
    ("breakout", "--><script>$X</script><!--"),
    ("breakout", "]]><script>$X</script>"),
    ("breakout", '";$X;//'),
    ("breakout", "'};$X;//"),
    ("breakout", '", "X-CSRF-Token": "x"}\' hx-on:load=\'$X'),
    ("breakout", "</blockquote></li></ul><img src=x onerror=$X>"),
    # --- encodings --------------------------------------------------------------------------
    ("encoding", "+ADw-script+AD4-$X+ADw-/script+AD4-"),
    ("encoding", "%3Cscript%3E$X%3C%2Fscript%3E"),
    ("encoding", "%253Cscript%253E$X%253C%252Fscript%253E"),
    ("encoding", "&lt;script&gt;$X&lt;/script&gt;"),
    ("encoding", "&amp;lt;img src=x onerror=$X&amp;gt;"),
    ("encoding", "&#60;script&#62;$X&#60;/script&#62;"),
    ("encoding", "&#x3C;img src=x onerror=$X&#x3E;"),
    ("encoding", "\\u003cscript\\u003e$X\\u003c/script\\u003e"),
    ("encoding", "\\x3cimg src=x onerror=$X\\x3e"),
    ("encoding", "\uff1cscript\uff1e$X\uff1c/script\uff1e"),
    ("encoding", "<scr\x00ipt>$X</scr\x00ipt>"),
    ("encoding", "<img src=x onerror\x00=$X>"),
    ("encoding", "\u202e<img src=x onerror=$X>\u202c"),
    ("encoding", "<img src=x\u200b onerror=$X>"),
    ("encoding", "\ufeff<script>$X</script>"),
    ("encoding", "<img src=x onerror=\\u005f\\u005fxss($ID)>"),
    ("encoding", "<img src=x onerror=eval(atob('$B64J'))>"),
    ("encoding", "\u017fcript <\u017fcript>$X</\u017fcript>"),
    ("encoding", "\r\n<script>$X</script>\r\n"),
    ("encoding", "<img\x0csrc=x\x0conerror=$X>"),
    # --- very long strings --------------------------------------------------------------------
    ("long", "A" * 5000 + "<img src=x onerror=$X>"),
    ("long", "<" * 3000 + "script>$X</script>"),
    ("long", '<a href="' + "A" * 4000 + '" onmouseover="$X">long attribute</a>'),
    ("long", "<div>" * 400 + "<img src=x onerror=$X>" + "</div>" * 400),
    ("long", "[" * 1000 + "x](javascript:$X)" + "]" * 1000),
    ("long", "> " * 300 + "<img src=x onerror=$X>"),
    ("long", ("<b>" + "x" * 50 + "</b>") * 300 + "<svg onload=$X>"),
]


def _entities(text: str) -> str:
    return "".join(f"&#{ord(c)};" for c in text)


def _percent(text: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode())


def _build() -> list[Payload]:
    payloads = []
    for number, (kind, template) in enumerate(_TEMPLATES, start=1):
        call = f"__xss({number})"
        html = f"<script>parent.__xss({number})</script>"
        text = (
            template.replace("$B64H", base64.b64encode(html.encode()).decode())
            .replace("$B64J", base64.b64encode(call.encode()).decode())
            .replace("$ENTX", _entities(call))
            .replace("$URLX", _percent(call))
            .replace("$PX", f"parent.{call}")
            .replace("$X", call)
            .replace("$ID", str(number))
        )
        payloads.append(Payload(number, kind, text))
    return payloads


PAYLOADS: list[Payload] = _build()
KINDS = sorted({p.kind for p in PAYLOADS})
