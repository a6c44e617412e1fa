#!/usr/bin/env python3
"""Every link inside the built book leads somewhere: the file exists, and
its #fragment is an id on that page.

    python3 tests/book_links.py target/book/html /rustguess/

Our own code, because mdbook-linkcheck2 (which checks the files) does not
check fragments, and a renamed heading breaks every #link to it silently.
Standard library only; links with a scheme (https:, mailto:) are skipped.
"""
import html.parser
import pathlib
import sys
import urllib.parse


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def main(root, site_url):
    root = pathlib.Path(root).resolve()
    pages = {}
    for f in root.rglob("*.html"):
        page = Page()
        page.feed(f.read_text(encoding="utf-8"))
        pages[f] = page
    if not pages:
        print(f"no pages in {root}")
        return 1
    bad = 0
    for f, page in sorted(pages.items()):
        for href in page.links:
            u = urllib.parse.urlsplit(href)
            if u.scheme or u.netloc:
                continue
            path = urllib.parse.unquote(u.path)
            if path.startswith(site_url):  # 404.html links from the site's root
                target = root / path[len(site_url):]
            elif path.startswith("/"):
                print(f"{f.relative_to(root)}: {href}: outside the site")
                bad = 1
                continue
            else:
                target = f.parent / path if path else f
            if path.endswith("/") or target.is_dir():
                target = target / "index.html"
            target = target.resolve()
            if target not in pages:
                if not target.exists():
                    print(f"{f.relative_to(root)}: {href}: no such file")
                    bad = 1
                continue
            frag = urllib.parse.unquote(u.fragment)
            if frag and frag not in pages[target].ids:
                print(f"{f.relative_to(root)}: {href}: no id {frag!r} on {target.relative_to(root)}")
                bad = 1
    print(f"{sum(len(p.links) for p in pages.values())} links in {len(pages)} pages", file=sys.stderr)
    return bad


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
