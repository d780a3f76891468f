import re
import uuid

from sqlalchemy.exc import IntegrityError

from agora.catalog.cache import CatalogChanges
from agora.catalog.errors import CategoryNotFound, DuplicateCategory
from agora.catalog.models import Category
from agora.catalog.repository import CategoryRepository
from agora.catalog.schemas import CategoryCreate
from agora.platform.db import Database
from agora.platform.idempotency import NO_KEY, Attempt
from agora.platform.ids import new_id
from agora.platform.pagination import PageResult
from agora.platform.querying import CollectionQuery

CATEGORY_ADDED = "category_added"
"""Recovery point of an idempotent create: the category is committed."""


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:100] or "category"


class CategoryService:
    def __init__(self, database: Database, changes: CatalogChanges) -> None:
        self.database = database
        self.changes = changes

    async def list(self, query: CollectionQuery) -> PageResult[Category]:
        base = query.where(CategoryRepository.listing())
        async with self.database.session() as session:
            return await query.paginator.fetch(session, base)

    async def get(self, category_id: uuid.UUID) -> Category:
        async with self.database.session() as session:
            category = await session.get(Category, category_id)
        if category is None:
            raise CategoryNotFound()
        return category

    async def create(self, data: CategoryCreate, attempt: Attempt = NO_KEY) -> Category:
        resumed = attempt.resumed(CATEGORY_ADDED)
        if resumed is not None:  # added; the announcement may not have run after the commit
            category = await self.get(uuid.UUID(resumed["categoryId"]))
            await self._announce(category)
            return category
        slug = data.slug or slugify(data.name)
        async with self.database.unit_of_work() as uow:
            categories = CategoryRepository(uow.session)
            if await categories.taken(data.name, slug):
                raise DuplicateCategory(field="name")
            category = Category(
                id=new_id(), name=data.name, slug=slug, description=data.description
            )
            categories.add(category)
            await attempt.reach(uow.session, CATEGORY_ADDED, categoryId=str(category.id))
            try:
                await uow.commit()
            except IntegrityError:
                raise DuplicateCategory(field="name") from None
        await self._announce(category)
        return category

    async def _announce(self, category: Category) -> None:
        await self.changes.categories(category.id)
