#!/usr/bin/env python3
"""Every command's index.html, rendered in headless Chromium (Debian's `chromium`).

For a small run of each command: every file the page references exists (and nothing is
fetched from the network), Chromium loads it without console errors or failed resources,
the screenshot is a PNG of the window size, and the rendered DOM holds the scores the
command printed on screen. First, the checker is shown to catch a page with a missing
picture and a console error (so a silent Chromium cannot pass it).

usage: check_report.py INFLAB_BINARY
Chromium missing is a failure, not a skip: install it with `bash scripts/install-deps.sh --browser`.
"""
import base64, html.parser, json, os, shlex, shutil, struct, subprocess, sys, tempfile, zlib
import xml.etree.ElementTree as ET

INFLAB = sys.argv[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOGREG = "--dataset iris --classes 1,2 --model logreg --weight-decay 0.01 --grad-tol 1e-10"
RUNS = {  # command → arguments (small and quick)
    "train": LOGREG,
    "check": LOGREG + " --rows 40",
    "hessian": LOGREG,
    "spectrum": LOGREG,
    "influence": "--dataset digits --n-train 200 --n-test 40 --model softmax --weight-decay 0.01 --test 0,1",
    "validate": LOGREG + " --top 10",
    "group": LOGREG + " --groups 4 --kinds random,knn --fraction 0.2",
    "lds": LOGREG + " --subsets 5",
    "mislabel": "--dataset digits --classes 1,7 --model logreg --weight-decay 0.01 --flip 0.1",
    "study fragility": "--depths 1 --widths 4 --weight-decays 0.01 --random-tests 0 --top 5",
    "study groups": "--fractions 0.1,0.2 --groups 3 --kinds random",
    "benchmark": LOGREG + " --estimators cg,kfac,graddot --loo-rows 5 --subsets 5 --test-points 2",
}
failures = []


def fail(what):
    failures.append(what)
    print("FAIL:", what)


class Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.refs.append(v)


def render(page, shot):
    """Chromium's log, its DOM and the screenshot of page (a path)."""
    # one fresh profile per launch (a Chromium still exiting cannot hand the next one an empty
    # DOM); no background networking or updates (their noise is not this page's)
    common = [CHROMIUM, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run", "--enable-logging=stderr",
              "--v=0", "--window-size=1280,2000", "--disable-dev-shm-usage", "--disable-background-networking",
              "--disable-component-update"]
    url = "file://" + os.path.abspath(page)
    prof = lambda: "--user-data-dir=" + tempfile.mkdtemp(dir=os.path.dirname(shot), prefix="profile-")
    s = subprocess.run(common + [prof(), "--screenshot=" + shot, url], capture_output=True, text=True, timeout=120)
    d = subprocess.run(common + [prof(), "--dump-dom", url], capture_output=True, text=True, timeout=120)
    return s.stderr + d.stderr, d.stdout


def log_errors(log):
    """Console messages and uncaught errors, and load failures of local (file://) resources."""
    loads = ("ERR_FILE_NOT_FOUND", "Failed to load", "net::ERR")
    return [l for l in log.splitlines() if "CONSOLE" in l or "Uncaught" in l or (any(b in l for b in loads) and "file://" in l)]


def check_svg(path):
    """An SVG the page shows: well-formed XML, and every embedded PNG decodes (IDAT inflates to h·(1 + 3w) bytes)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return fail(f"{path}: not well-formed SVG: {e}")
    for el in root.iter():
        href = el.get("href") or el.get("{http://www.w3.org/1999/xlink}href") or ""
        if not href.startswith("data:image/png;base64,"):
            continue
        png = base64.b64decode(href.split(",", 1)[1])
        w, h = struct.unpack(">II", png[16:24])
        idat, k = b"", 8
        while k < len(png):
            n, kind = struct.unpack(">I4s", png[k:k + 8])
            if kind == b"IDAT":
                idat += png[k + 8:k + 8 + n]
            k += 12 + n
        try:
            raw = zlib.decompress(idat)
        except zlib.error as e:
            return fail(f"{path}: an embedded PNG does not inflate: {e}")
        if len(raw) != h * (1 + 3 * w):
            return fail(f"{path}: an embedded {w}×{h} PNG holds {len(raw)} bytes, not {h * (1 + 3 * w)}")


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def check_page(run_dir, screen, tmp):
    page = os.path.join(run_dir, "index.html")
    if not os.path.exists(page):
        return fail(run_dir + ": no index.html")
    text = open(page, encoding="utf-8").read()
    refs = Refs()
    refs.feed(text)
    for r in refs.refs:
        if r.startswith(("http:", "https:", "//")):
            fail(f"{page}: references the network: {r}")
        elif not r.startswith(("data:", "#")) and not os.path.exists(os.path.join(run_dir, r)):
            fail(f"{page}: references {r}, which does not exist")
        elif r.endswith(".svg"):
            check_svg(os.path.join(run_dir, r))
    if "<script" in text:
        fail(page + ": has a script")
    shot = os.path.join(tmp, os.path.basename(run_dir) + ".png")
    log, dom = render(page, shot)
    if not dom.strip():
        fail(f"{page}: Chromium rendered no DOM")
    for l in log_errors(log):
        fail(f"{page}: Chromium: {l}")
    if png_size(shot) != (1280, 2000):
        fail(f"{page}: screenshot {shot} is not a 1280×2000 PNG: {png_size(shot) if os.path.exists(shot) else 'missing'}")
    for line in screen:  # the scores shown on screen are on the page
        if line not in dom:
            fail(f"{page}: the rendered page lacks the screen line {line!r}")
    return dom


def self_test(tmp):
    """The checks catch a broken page: a missing picture and a console error."""
    d = os.path.join(tmp, "broken")
    os.makedirs(d)
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write('<!doctype html><html><body><img src="missing.svg"><script>console.error("boom")</script></body></html>')
    log, _ = render(os.path.join(d, "index.html"), os.path.join(tmp, "broken.png"))
    if not any("boom" in e for e in log_errors(log)):
        fail("self-test: Chromium's log did not show the console error of a broken page:\n" + log[-2000:])
    before = len(failures)
    check_page(d, [], tmp)  # must report the missing picture and the script
    caught = failures[before:]
    del failures[before:]
    if not any("missing.svg" in f for f in caught) or not any("script" in f for f in caught):
        fail("self-test: the page check missed the missing picture or the script: " + repr(caught))


def screen_lines(cmd, out):
    """Lines of the screen summary that carry scores (escaped as the page shows them)."""
    keys = ("Pearson", "ROC AUC", "LDS", "PASS", "eigenvalues", "spectrum:", "checkpoint:", "most helpful")
    picked = [l.strip() for l in out.splitlines() if any(k in l for k in keys) and "|" not in l]
    table = [l.split("|")[1:-1] for l in out.splitlines() if l.startswith("|") and "---" not in l]
    if cmd.startswith("study") and table:  # its table's Pearson cells, as cells of the page's table
        col = [c.strip() for c in table[0]].index("Pearson first" if cmd == "study groups" else "Pearson")
        picked += [">" + r[col].strip() + "<" for r in table[1:3]]
    return picked


def main():
    if not CHROMIUM:
        print("FAIL: chromium is not installed; the report test renders index.html in it.\n"
              "Install it: bash scripts/install-deps.sh --browser  (Debian package chromium)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        self_test(tmp)
        for cmd, args in RUNS.items():
            out_dir = os.path.join(tmp, cmd.replace(" ", "-"))
            r = subprocess.run([INFLAB, *cmd.split(), *shlex.split(args), "--out", out_dir], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"inflab {cmd} exited {r.returncode}: {r.stdout[-800:]}{r.stderr[-800:]}")
                continue
            lines = screen_lines(cmd, r.stdout)
            if not lines:
                fail(f"inflab {cmd}: found no score line on screen to look for:\n{r.stdout}")
            before = len(failures)
            check_page(out_dir, lines, tmp)
            if len(failures) == before:
                print(f"ok: {cmd} ({len(lines)} screen lines found on the page)")
    print(f"{len(RUNS)} reports checked, {len(failures)} failures")
    return 1 if failures else 0


sys.exit(main())
