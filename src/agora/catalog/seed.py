"""The demo catalog of `agora seed`: categories and products, deterministic and resumable.

Products are generated from a fixed random seed, so every run produces the same catalog: SKUs
`AG-0000001` onwards. Seeding inserts only what is missing (a second run inserts nothing; a
larger `--products` continues where the last run stopped), in bulk batches, so that a catalog
of a million products for benchmarks takes minutes, not hours.
"""

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from agora.catalog.models import Category, Inventory, Product, ProductTag
from agora.platform.ids import new_id
from agora.platform.runtime import Runtime

SEED = 2026
SKU_PREFIX = "AG-"
BATCH = 5_000


@dataclass(frozen=True)
class _Kind:
    slug: str
    name: str
    description: str
    nouns: tuple[str, ...]
    tags: tuple[str, ...]
    price_range: tuple[int, int]  # in cents


KINDS = (
    _Kind("coffee", "Coffee", "Beans, grinders and brewers.",
          ("espresso machine", "burr grinder", "pour-over kettle", "french press", "coffee beans",
           "milk frother", "cold brew maker", "moka pot"),
          ("coffee", "kitchen", "barista", "gift"), (899, 89_900)),
    _Kind("kitchen", "Kitchen", "Tools for cooks who care.",
          ("chef's knife", "cast-iron skillet", "cutting board", "dutch oven", "mixing bowl set",
           "spice grinder", "stock pot", "baking sheet"),
          ("kitchen", "cooking", "steel", "gift"), (1_299, 39_900)),
    _Kind("outdoor", "Outdoor", "Gear for trails and campsites.",
          ("trail backpack", "camping stove", "sleeping bag", "headlamp", "water filter",
           "trekking poles", "tent", "insulated bottle"),
          ("outdoor", "camping", "hiking", "travel"), (1_499, 59_900)),
    _Kind("audio", "Audio", "Headphones, speakers and turntables.",
          ("wireless headphones", "bookshelf speaker", "turntable", "portable speaker",
           "studio monitor", "earbuds", "headphone amplifier", "soundbar"),
          ("audio", "music", "wireless", "electronics"), (2_999, 129_900)),
    _Kind("books", "Books", "Stories, guides and references.",
          ("field guide", "cookbook", "novel", "atlas", "poetry collection", "travel guide",
           "history of tea", "programming handbook"),
          ("books", "reading", "gift", "paper"), (799, 6_900)),
    _Kind("home", "Home", "Things that make a house a home.",
          ("linen throw", "ceramic vase", "reading lamp", "wool rug", "wall clock", "candle set",
           "storage basket", "picture frame"),
          ("home", "decor", "living room", "gift"), (1_199, 49_900)),
    _Kind("fitness", "Fitness", "Equipment for training at home.",
          ("yoga mat", "kettlebell", "jump rope", "resistance bands", "foam roller",
           "adjustable dumbbells", "pull-up bar", "training gloves"),
          ("fitness", "training", "home gym", "health"), (999, 69_900)),
    _Kind("garden", "Garden", "Tools and seeds for growing things.",
          ("pruning shears", "watering can", "seed starter kit", "garden gloves", "raised bed",
           "compost bin", "hose reel", "herb planter"),
          ("garden", "outdoor", "plants", "tools"), (699, 29_900)),
)  # fmt: skip

ADJECTIVES = (
    "Classic", "Compact", "Deluxe", "Everyday", "Nordic", "Pro", "Rustic", "Signature", "Smart",
    "Studio", "Travel", "Ultralight", "Vintage", "Weekend", "Heritage", "Modern",
)  # fmt: skip
FEATURES = (
    "built to last for years", "easy to clean", "designed with repair in mind",
    "made from recycled materials", "tested by our team for a season", "quiet in use",
    "backed by a two-year warranty", "light enough to carry anywhere",
)  # fmt: skip


def sentence_start(phrase: str) -> str:
    """`phrase` opening a sentence, with its article: "An ultralight tent", "A compact kettle",
    "Heritage trekking poles" (a plural takes none)."""
    last = phrase.rsplit(" ", 1)[-1]
    if not (last.endswith("s") and not last.endswith("ss")):
        phrase = ("an " if phrase[:1] in ("a", "e", "i", "o", "u") else "a ") + phrase
    return phrase[:1].upper() + phrase[1:]


def _product(
    number: int, categories: dict[str, Any], epoch: datetime
) -> tuple[dict[str, Any], list[str], int]:
    """Product `number` of the demo catalog: (row, tags, stock). Deterministic per number."""
    rng = random.Random(SEED * 1_000_003 + number)  # noqa: S311 - demo data, not secrets
    kind = KINDS[number % len(KINDS)]
    noun = rng.choice(kind.nouns)
    adjective = rng.choice(ADJECTIVES)
    low, high = kind.price_range
    tags = sorted(set(rng.sample(kind.tags, k=rng.randint(1, 3))))
    features = rng.sample(FEATURES, k=2)
    created = epoch + timedelta(minutes=number)
    row = {
        "id": new_id(),
        "sku": f"{SKU_PREFIX}{number:07d}",
        "name": f"{adjective} {noun} {number}",
        "description": f"{sentence_start(f'{adjective.lower()} {noun}')} from our "
        f"{kind.name.lower()} range: {features[0]}, {features[1]}.",
        "price_cents": rng.randint(low // 100, high // 100) * 100 - 1,
        "currency": "USD",
        "status": "archived" if number % 97 == 0 else ("draft" if number % 41 == 0 else "active"),
        "category_id": categories[kind.slug],
        "tags": tags,
        "version": 1,
        "created_at": created,
        "updated_at": created,
    }
    return row, tags, rng.choice((0, 3, 12, 25, 40, 75, 150))


async def seed_categories(runtime: Runtime) -> dict[str, Any]:
    """Create the demo categories that are missing; their ids by slug."""
    async with runtime.database.unit_of_work() as uow:
        rows = await uow.session.execute(select(Category.slug, Category.id))
        existing: dict[str, Any] = dict(list(rows))
        for kind in KINDS:
            if kind.slug not in existing:
                category = Category(
                    id=new_id(), name=kind.name, slug=kind.slug, description=kind.description
                )
                uow.session.add(category)
                existing[kind.slug] = category.id
        await uow.commit()
    return existing


def _batches(start: int, end: int) -> Iterator[range]:
    for first in range(start, end + 1, BATCH):
        yield range(first, min(first + BATCH, end + 1))


async def seed_products(
    runtime: Runtime, count: int, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Make sure products AG-0000001..count exist: (how many were inserted, how many demo
    products there are now, which an earlier, larger seed may have made more than `count`)."""
    categories = await seed_categories(runtime)
    async with runtime.database.session() as session:
        last = await session.scalar(
            select(func.max(Product.sku)).where(Product.sku.like(f"{SKU_PREFIX}%"))
        )
    done = int(last[len(SKU_PREFIX) :]) if last else 0
    if progress is not None:
        progress(min(done, count))
    epoch = datetime(2025, 1, 1, tzinfo=UTC)
    inserted = 0
    for numbers in _batches(done + 1, count):
        products: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        stock: list[dict[str, Any]] = []
        for number in numbers:
            row, row_tags, quantity = _product(number, categories, epoch)
            products.append(row)
            tags.extend({"product_id": row["id"], "tag": tag} for tag in row_tags)
            stock.append(
                {"product_id": row["id"], "quantity": quantity, "updated_at": row["created_at"]}
            )
        async with runtime.database.unit_of_work() as uow:
            await uow.session.execute(insert(Product), products)
            await uow.session.execute(insert(Inventory), stock)
            await uow.session.execute(insert(ProductTag), tags)
            await uow.commit()
        inserted += len(products)
        if progress is not None:
            progress(len(products))
    if inserted:
        tables = (Product.__tablename__, Inventory.__tablename__, ProductTag.__tablename__)
        await runtime.database.analyze(*tables)
    return inserted, max(done, count)
