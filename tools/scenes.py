"""Synthetic scenes for mmm's applications: images of coloured shapes, their captions, the
questions one can ask about them with free-text answers, and canonical renderings of a
caption (what the text-to-image model learns to draw).

A scene holds 1 to 3 objects, each a (size, colour, shape) at a position, drawn at 4× on a
textured or noisy background and reduced to SIZE × SIZE (box filter), with sensor-like
noise. Objects may overlap a little; scenes are drawn so that their caption is unambiguous
(objects far enough apart along the axis the caption uses).

Captions (one canonical sentence per scene):
    a small red circle
    a small red circle to the left of a large blue square      (|dx| > |dy|, left one first)
    a large green triangle above a small yellow diamond        (|dy| > |dx|, upper one first)
    a small red circle , a large blue square and a small green triangle   (left to right)

Questions and answers (free text):
    what color is the square ?          the square is blue
    what shape is the red object ?      it is a circle
    how many objects are there ?        there are two objects
    where is the circle ?               the circle is on the left      (left/right/top/bottom)
    how big is the triangle ?           the triangle is small
    is there a blue square ?            yes there is a blue square / no there is no blue square

Everything is reproducible from a seed (random.Random). Run with Debian's /usr/bin/python3.
"""
import random

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64            # what the models see
RENDER = 4 * SIZE    # drawn at 4× and box-filtered down, for smooth edges
COLORS = {"red": (215, 40, 40), "green": (40, 180, 60), "blue": (50, 80, 230), "yellow": (225, 210, 40),
          "purple": (150, 60, 200)}
SHAPES = ("circle", "square", "triangle", "diamond")
SIZES = {"small": (40, 56), "large": (80, 104)}   # side of the bounding box at RENDER scale
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
RELATIONS = ("to the left of", "above")


def vocabulary():
    """Every word captions, questions and answers use, after the specials (ids 0..3)."""
    words = ["a", "to", "the", "left", "of", "above", ",", "and", "what", "color", "is", "shape", "object",
             "it", "how", "many", "objects", "are", "there", "where", "on", "right", "top", "bottom", "big",
             "no", "yes", "?", "one", "two", "three"]
    words += list(SIZES) + list(COLORS) + list(SHAPES)
    seen, out = set(), []
    for w in words:
        if w not in seen:
            seen.add(w)
            out.append(w)
    return SPECIALS + out


def _background(rng):
    """A textured or noisy dark background at RENDER scale, as a uint8 array."""
    kind = rng.choice(("flat", "noise", "gradient", "stripes", "blotches"))
    base = np.array([rng.randint(0, 70) for _ in range(3)], dtype=np.float32)
    yy, xx = np.mgrid[0:RENDER, 0:RENDER].astype(np.float32) / RENDER
    nrng = np.random.default_rng(rng.randrange(1 << 32))
    if kind == "flat":
        img = np.broadcast_to(base, (RENDER, RENDER, 3)).copy()
    elif kind == "noise":
        img = base + nrng.normal(0, 18, (RENDER, RENDER, 3))
    elif kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        t = np.cos(angle) * xx + np.sin(angle) * yy
        img = base + 50 * t[..., None] * np.array([rng.uniform(0.3, 1) for _ in range(3)])
    elif kind == "stripes":
        period = rng.uniform(0.05, 0.2)
        t = np.sin(2 * np.pi * (xx if rng.random() < 0.5 else yy) / period)
        img = base + 18 * t[..., None]
    else:
        coarse = nrng.normal(0, 25, (8, 8, 3))
        img = base + np.kron(coarse, np.ones((RENDER // 8, RENDER // 8, 1)))
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw(draw, shape, box, fill):
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "triangle":
        draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)
    else:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=fill)


def render(objects, rng=None, clean=False):
    """The image of `objects` [(size, color, shape, (cx, cy)) at RENDER scale] as a SIZE×SIZE
    PIL image. clean=True: flat black background, exact colours, no noise (the canonical
    rendering the text-to-image model learns)."""
    rng = rng or random.Random(0)
    arr = np.zeros((RENDER, RENDER, 3), np.uint8) if clean else _background(rng)
    img = Image.fromarray(arr)
    draw = ImageDraw.Draw(img)
    for size, color, shape, (cx, cy) in objects:
        side = SIZES[size][0] + 4 if clean else rng.randint(*SIZES[size])  # clean: three fit in a row
        box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        fill = COLORS[color] if clean else tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in COLORS[color])
        _draw(draw, shape, box, fill)
    img = img.resize((SIZE, SIZE), Image.BOX)
    if not clean:
        a = np.asarray(img).astype(np.int16)
        a += np.random.default_rng(rng.randrange(1 << 32)).integers(-10, 11, a.shape, dtype=np.int16)
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return img


def random_objects(rng, count=None):
    """1–3 distinct (size, color, shape) with positions that make the caption unambiguous.
    Returns (objects, relation): relation is the caption's axis for two objects."""
    count = count or rng.choice((1, 2, 2, 3))
    kinds = set()
    while len(kinds) < count:
        kinds.add((rng.choice(tuple(SIZES)), rng.choice(tuple(COLORS)), rng.choice(SHAPES)))
    kinds = sorted(kinds)  # a set's order follows PYTHONHASHSEED: sort first, or the seed would not decide
    rng.shuffle(kinds)
    margin = 60  # half of a large object: the centres keep at least this apart on the caption's axis
    lo, hi = 56, RENDER - 56
    relation = rng.choice(RELATIONS) if count == 2 else RELATIONS[0]
    for _ in range(1000):
        pos = [(rng.randint(lo, hi), rng.randint(lo, hi)) for _ in kinds]
        if count == 1:
            break
        if count == 2:
            dx, dy = abs(pos[0][0] - pos[1][0]), abs(pos[0][1] - pos[1][1])
            main, other = (dx, dy) if relation == RELATIONS[0] else (dy, dx)
            if main >= margin and main >= other + 24:
                break
        else:
            xs = sorted(p[0] for p in pos)
            if xs[1] - xs[0] >= margin and xs[2] - xs[1] >= margin:
                break
    return [(s, c, k, p) for (s, c, k), p in zip(kinds, pos)], relation


def phrase(obj):
    return f"a {obj[0]} {obj[1]} {obj[2]}"


def caption(objects, relation=RELATIONS[0]):
    """The scene's canonical caption."""
    if len(objects) == 1:
        return phrase(objects[0])
    if len(objects) == 2:
        axis = 0 if relation == RELATIONS[0] else 1
        first, second = sorted(objects, key=lambda o: o[3][axis])
        return f"{phrase(first)} {relation} {phrase(second)}"
    a, b, c = sorted(objects, key=lambda o: o[3][0])
    return f"{phrase(a)} , {phrase(b)} and {phrase(c)}"


def layout(described, relation=RELATIONS[0]):
    """Canonical positions for the objects a caption names, in its order (text to image)."""
    c, left, right = RENDER // 2, RENDER // 4, 3 * RENDER // 4
    if len(described) == 1:
        spots = [(c, c)]
    elif len(described) == 2:
        spots = [(left, c), (right, c)] if relation == RELATIONS[0] else [(c, left), (c, right)]
    else:
        spots = [(RENDER // 6, c), (c, c), (5 * RENDER // 6, c)]
    return [(s, col, sh, p) for (s, col, sh), p in zip(described, spots)]


def parse_caption(text):
    """The (size, color, shape) list and relation a canonical caption names, or None."""
    words = text.split()
    objs, relation, i = [], RELATIONS[0], 0
    while i < len(words):
        if words[i] == "a" and i + 3 < len(words) + 0 and words[i + 1] in SIZES and words[i + 2] in COLORS \
                and words[i + 3] in SHAPES:
            objs.append((words[i + 1], words[i + 2], words[i + 3]))
            i += 4
        elif words[i:i + 4] == ["to", "the", "left", "of"]:
            i += 4
        elif words[i] == "above":
            relation = "above"
            i += 1
        elif words[i] in (",", "and"):
            i += 1
        else:
            return None
    return (objs, relation) if 1 <= len(objs) <= 3 else None


def where(obj):
    """left/right/top/bottom: the side of the image the object's centre is nearest."""
    x, y = obj[3]
    d = {"left": x, "right": RENDER - x, "top": y, "bottom": RENDER - y}
    return min(d, key=d.get)


def question(rng, objects, kind=None):
    """A question about the scene and its free-text answer."""
    kind = kind or rng.choice(("color", "shape", "count", "where", "size", "exists"))
    obj = rng.choice(objects)
    size, color, shape, _ = obj
    unique_shape = sum(o[2] == shape for o in objects) == 1
    unique_color = sum(o[1] == color for o in objects) == 1
    if kind == "color" and unique_shape:
        return f"what color is the {shape} ?", f"the {shape} is {color}"
    if kind == "shape" and unique_color:
        return f"what shape is the {color} object ?", f"it is a {shape}"
    if kind == "where" and unique_shape:
        return f"where is the {shape} ?", f"the {shape} is on the {where(obj)}"
    if kind == "size" and unique_shape:
        return f"how big is the {shape} ?", f"the {shape} is {size}"
    if kind == "exists":
        if rng.random() < 0.5:
            return f"is there a {color} {shape} ?", f"yes there is a {color} {shape}"
        present = {(o[1], o[2]) for o in objects}
        while True:
            c = color if rng.random() < 0.4 else rng.choice(tuple(COLORS))
            s = shape if rng.random() < 0.4 else rng.choice(SHAPES)
            if (c, s) not in present:
                return f"is there a {c} {s} ?", f"no there is no {c} {s}"
    n = len(objects)
    return "how many objects are there ?", ("there is one object" if n == 1 else
                                            f"there are {['two', 'three'][n - 2]} objects")


def scene(rng, count=None):
    """(image, objects, relation, caption) for a fresh random scene."""
    objects, relation = random_objects(rng, count)
    return render(objects, rng), objects, relation, caption(objects, relation)


def image_array(img):
    """[3, SIZE, SIZE] float32 in [-1, 1]: (pixel / 255 - 0.5) / 0.5, as the C++ side normalizes."""
    return (np.asarray(img.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
