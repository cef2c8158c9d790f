#!/usr/bin/python3
"""Helper of scripts/ref/make_fasttext_testdata.sh (stdlib only, plus Debian's
python3-fasttext for the `exact` step).

  corpus PACKAGES STATUS OUTDIR TMPDIR
      Builds the labelled corpus from Debian's package lists: one line per
      binary package, text = its short Description (from PACKAGES, the
      decompressed apt list) followed by its long Description where the
      package is installed (STATUS = /var/lib/dpkg/status has them; apt's
      lists on this machine carry no Translation files). Labels:
        train.txt        __label__<Section>
        train_multi.txt  (in TMPDIR) __label__<Section> plus one __label__<facet::tag> per
                         Tag: entry (multi-label, for -loss ova)
      test.txt holds held-out packages (every other one keeps its labels in the
      line, like a fastText test file) followed by edge cases: tabs, runs of
      spaces, \\r \\v \\f and NUL bytes, accents, CJK, emoji, invalid UTF-8, an
      empty line, a whitespace-only line, label-only lines, a very long word and
      a very long line (thousands of words). test_small.txt = the first 12
      held-out lines plus the edge cases except the long line (for k=-1).
      Every line ends with '\\n'; no line holds the token "</s>".

  exact MODEL TESTFILE K THRESHOLD
      Prints, for each line of TESTFILE, what fastText's predictLine returns
      (through python3-fasttext, the same C++ code as `fasttext predict-prob`)
      with the probabilities written exactly (the float32 value, 9 digits)
      instead of predict-prob's 6: "label p label p ..." a line.
"""
import random
import re
import sys


def stanzas(text):
    for block in text.split("\n\n"):
        fields = {}
        key = None
        for line in block.split("\n"):
            if not line:
                continue
            if line[0] in " \t" and key:
                fields[key].append(line[1:])
            else:
                k, _, v = line.partition(":")
                key = k
                fields[key] = [v.strip()]
        if "Package" in fields:
            yield fields


def long_descriptions(status_path):
    out = {}
    with open(status_path, encoding="utf-8", errors="replace") as f:
        for st in stanzas(f.read()):
            desc = st.get("Description", [])
            body = [l.strip() for l in desc[1:] if l.strip() != "."]
            if body:
                out[st["Package"][0]] = " ".join(body)
    return out


def clean(s):
    # fastText's own whitespace becomes a space; "</s>" would end the line.
    s = re.sub(r"[\t\n\r\v\f\0]", " ", s)
    return s.replace("</s>", "< /s>").strip()


def corpus(packages_path, status_path, outdir, tmpdir):
    longd = long_descriptions(status_path)
    with open(packages_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    rows = []
    seen = set()
    for st in stanzas(text):
        name = st["Package"][0]
        if name in seen or "Section" not in st or "Description" not in st:
            continue
        seen.add(name)
        section = st["Section"][0].split("/")[-1]
        desc = st["Description"][0]
        if name in longd:
            desc = desc + " " + longd[name]
        tags = []
        if "Tag" in st:
            tags = [t.strip() for t in " ".join(st["Tag"]).split(",") if t.strip()]
        rows.append((clean(desc), section, tags))
    rng = random.Random(20240611)
    rng.shuffle(rows)
    train, test = rows[:4000], rows[4000:4250]

    def labels(r, multi):
        ls = ["__label__" + r[1]]
        if multi:
            ls += ["__label__" + t for t in r[2]]
        return " ".join(ls)

    with open(f"{outdir}/train.txt", "w", encoding="utf-8", newline="\n") as f:
        for r in train:
            f.write(f"{labels(r, False)} {r[0]}\n")
    with open(f"{tmpdir}/train_multi.txt", "w", encoding="utf-8", newline="\n") as f:
        for r in train:
            f.write(f"{labels(r, True)} {r[0]}\n")

    lines = []
    for i, r in enumerate(test):
        lines.append((labels(r, i % 4 == 1) + " " + r[0] if i % 2 else r[0]).encode())
    words = " ".join(r[0] for r in train[:300]).split()
    edge = [
        b"\tGNU\t\tshell  utility   for\t \tfiles  ",
        b"   text editor with   syntax highlighting   ",
        b"library for parsing XML documents\r",
        b"terminal\vemulator\fwith tabs\x00and NUL bytes",
        "bibliothèque de gestion des paquets Debian, données en français, café naïve".encode(),
        "Ünïcödé façade Ωμέγα Русский текст über straße".encode(),
        "中文 输入法 引擎 日本語 フォント 한국어 글꼴 library".encode(),
        "🎮 game 🚀 rocket launcher 👍🏽 emoji 👨‍👩‍👧 family font".encode(),
        b"\xff\xfe broken \xc3 utf8 \x80\x80 continuation \xe4\xb8 truncated",
        b"",
        b"  \t  ",
        b"__label__utils",
        b"__label__utils __label__no_such_label python module",
        b"a b c d e f g",
        b"x",
        ("supercalifragilistic" * 50).encode(),
        b"Python 3 module for the GNOME desktop - development files (documentation)",
    ]
    long_line = " ".join(rng.choice(words) for _ in range(5000)).encode()
    small = lines[:12] + edge
    with open(f"{outdir}/test.txt", "wb") as f:
        for l in lines + edge + [long_line]:
            f.write(l + b"\n")
    with open(f"{outdir}/test_small.txt", "wb") as f:
        for l in small:
            f.write(l + b"\n")


def exact(model_path, test_path, k, threshold):
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # load_model's notice
    m = fasttext.load_model(model_path)
    out = sys.stdout.buffer
    with open(test_path, "rb") as f:
        data = f.read()
    assert data.endswith(b"\n")
    for line in data[:-1].split(b"\n"):
        preds = m.f.predict(line + b"\n", k, threshold, "replace")
        out.write(" ".join(f"{lab} {p:.9g}" for p, lab in preds).encode() + b"\n")


if __name__ == "__main__":
    if sys.argv[1] == "corpus":
        corpus(*sys.argv[2:6])
    elif sys.argv[1] == "exact":
        exact(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(__doc__)
