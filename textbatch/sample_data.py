"""Synthetic warranty claims: the project's own deterministic, multi-class sample data.

Texts are assembled from per-category phrases with a seeded generator, so the same seed gives
the same file byte for byte. Some texts carry commas, double quotes, line breaks and non-ASCII
characters on purpose: every CSV path in textbatch must survive them.
"""

from __future__ import annotations

import random
from pathlib import Path

from textbatch.io import csv_table

PRODUCTS = [
    "dishwasher", "washing machine", "tumble dryer", "fridge-freezer", "oven", "microwave",
    "coffee machine", "air conditioner", "boiler", "electric kettle", "vacuum cleaner",
    "television", "laptop", "espresso maker", "heat pump", "water heater",
]  # fmt: skip

CATEGORIES: dict[str, dict[str, list[str]]] = {
    "fire": {
        "events": [
            "caught fire while running",
            "started smoking and then burst into flames",
            "produced a burning smell and visible flames",
            "overheated and set the worktop alight",
            "scorched the wall behind it",
            "burned through its own casing",
        ],
        "details": [
            "the fire brigade was called",
            "soot damage across the kitchen ceiling",
            "melted plastic dripped onto the floor",
            "the smoke alarm went off twice",
            "char marks around the vent",
            "flames came out of the back panel",
        ],
    },
    "water_damage": {
        "events": [
            "leaked all over the floor",
            "flooded the utility room",
            "started dripping water",
            "let water seep under the cabinets",
            "overflowed during the cycle",
            "sprayed water from the inlet hose",
        ],
        "details": [
            "the floorboards are now warped",
            "water came through the ceiling below",
            "the carpet is soaked and smells of damp",
            "mould appeared behind the unit",
            "a puddle forms every morning",
            "the seal is cracked and lets water out",
        ],
    },
    "electrical": {
        "events": [
            "keeps tripping the circuit breaker",
            "gave a small electric shock when touched",
            "stopped powering on at all",
            "blew the fuse in the plug",
            "shows a flickering display and then dies",
            "sparks at the power socket",
        ],
        "details": [
            "the power cord is frayed near the plug",
            "the control board seems dead",
            "an electrician measured a short circuit",
            "the wiring insulation looks melted",
            "the socket works with other appliances",
            "the earth leakage device trips",
        ],
    },
    "mechanical": {
        "events": [
            "makes a loud grinding noise",
            "has a drum that no longer turns",
            "vibrates violently during use",
            "has a jammed door latch",
            "has a fan that rattles and stops",
            "has a broken hinge on the door",
        ],
        "details": [
            "the motor bearing sounds worn",
            "a belt snapped inside",
            "the pump impeller is stuck",
            "a gear has stripped teeth",
            "the spring mechanism is bent",
            "screws came loose from the frame",
        ],
    },
    "cosmetic": {
        "events": [
            "arrived with a deep scratch on the front",
            "has paint peeling off the side",
            "came with a dented panel",
            "has discoloured plastic after a month",
            "has a cracked glass front",
            "shows rust spots on the trim",
        ],
        "details": [
            "the box was undamaged on delivery",
            "it still works but looks terrible",
            "the finish rubs off when cleaned",
            "the mark is visible from across the room",
            "only the outer casing is affected",
            "the colour does not match the photos",
        ],
    },
}

OPENERS = [
    "My {product} {event}.",
    "Our {product} {event} last week.",
    "Customer reports the {product} {event}.",
    "The {product}, bought in {month}, {event}.",
    'The so-called "premium" {product} {event}.',
]
# Openers that say nothing of the cause: the details alone must tell the category.
VAGUE_OPENERS = [
    "Problem with my {product}.",
    "The {product} stopped working properly in {month}.",
    "Warranty claim for a {product}, bought in {month}.",
]
CLOSERS = [
    "Please advise.", "Requesting repair or replacement.", "Claim ref attached.",
    "Second claim for this unit, sadly.", "Merci, Zoë Müller (café owner).",
    "Temperature was about 40 °C at the time.", "", "",
]  # fmt: skip
MONTHS = ["January", "March", "May", "July", "September", "November"]
FIRST_NAMES = ["Ana", "Björn", "Chen", "Dara", "Émile", "Farah", "Giulia", "Hiro", "Ines", "Jon"]


def make_claim(rng: random.Random, category: str) -> str:
    phrases = CATEGORIES[category]
    template = rng.choice(VAGUE_OPENERS) if rng.random() < 0.25 else rng.choice(OPENERS)
    opener = template.format(
        product=rng.choice(PRODUCTS), event=rng.choice(phrases["events"]), month=rng.choice(MONTHS)
    )
    details = rng.sample(phrases["details"], k=rng.choice([1, 1, 2]))
    if rng.random() < 0.3:  # real claims mention side effects of other kinds too
        other = rng.choice([c for c in CATEGORIES if c != category])
        details.append(rng.choice(CATEGORIES[other]["details"]))
    joiner = rng.choice(["; ", ", and ", "\n"])  # a line break inside a field, now and then
    closer = rng.choice(CLOSERS)
    return " ".join(
        part for part in [opener, joiner.join(details).capitalize() + ".", closer] if part
    )


def generate(rows: int, *, seed: int) -> list[dict[str, str]]:
    """`rows` claims with id, customer, text and category, categories in rotation."""
    rng = random.Random(seed)
    names = list(CATEGORIES)
    return [
        {
            "claim_id": f"C{seed:02d}-{i:05d}",
            "customer": f"{rng.choice(FIRST_NAMES)}, {rng.choice(['Ltd', 'GmbH', 'SA', 'plc'])}",
            "text": make_claim(rng, names[i % len(names)]),
            "category": names[i % len(names)],
        }
        for i in range(rows)
    ]


def with_submitted(rows: list[dict[str, str]], slips: float, *, seed: int) -> list[dict[str, str]]:
    """The rows with a `submitted` category: their own, or in a `slips` share of them (chosen
    at random, seeded) another one, as a submitter's slip."""
    rng = random.Random(seed + 1)
    names = list(CATEGORIES)
    out = []
    for row in rows:
        submitted = row["category"]
        if rng.random() < slips:
            submitted = rng.choice([n for n in names if n != submitted])
        out.append({**row, "submitted": submitted})
    return out


def write_csv(
    path: Path, rows: list[dict[str, str]], *, labelled: bool = True, submitted: bool = False
) -> None:
    columns = ["claim_id", "customer", "text"] + (["category"] if labelled else [])
    columns += ["submitted"] if submitted else []
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv_table.writer(f)
        writer.writerow(columns)
        writer.writerows([row[c] for c in columns] for row in rows)


BUNDLED_DIR = Path(__file__).parent / "data"
# file name -> (rows, seed, labelled): `textbatch sample-data --bundled` rewrites them.
BUNDLED = {
    "warranty_train.csv": (500, 1, True),
    "warranty_predict.csv": (60, 2, False),
}


def write_bundled(directory: Path = BUNDLED_DIR) -> list[Path]:
    paths = []
    for name, (rows, seed, labelled) in BUNDLED.items():
        write_csv(directory / name, generate(rows, seed=seed), labelled=labelled)
        paths.append(directory / name)
    return paths
