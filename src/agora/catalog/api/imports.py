"""`POST /products/imports`: a CSV of products, imported by a background job (202)."""

from fastapi import Request, Response
from starlette.datastructures import UploadFile

from agora.catalog.api.dependencies import Editor, ProductImports
from agora.catalog.api.images import file_chunks
from agora.catalog.imports import COLUMNS
from agora.jobs import JobRead, job_path, job_read
from agora.platform.envelope import Envelope
from agora.platform.errors import BadRequest, UnsupportedMediaType
from agora.platform.idempotency import IdempotencyAttempt
from agora.platform.responses import json_response, location
from agora.platform.routing import api_router, media_type

router = api_router(prefix="/api/v1", tags=["products"])

IMPORTS_PATH = "/api/v1/products/imports"
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": f"UTF-8 CSV with the header `{','.join(COLUMNS)}`.",
                        }
                    },
                    "additionalProperties": False,
                }
            }
        },
    }
}


@router.post(
    "/products/imports",
    status_code=202,
    response_model=Envelope[JobRead],
    openapi_extra=_IMPORT_BODY,
)
async def import_products(
    request: Request, principal: Editor, attempt: IdempotencyAttempt, imports: ProductImports
) -> Response:
    """Import products from a CSV (multipart `file`, up to `AGORA_IMPORT_MAX_ROWS` rows).

    The file is checked as it arrives (UTF-8 text with the import's header, else 422) and
    imported by a job: 202 with `Location: /api/v1/jobs/{id}`. Invalid rows are reported in
    the job's result by row number and field; valid rows are imported. Send an
    `Idempotency-Key` so that a retried upload does not import twice.
    """
    if media_type(request.headers.get("content-type")) != "multipart/form-data":
        raise UnsupportedMediaType(
            "Send multipart/form-data with the CSV as `file`.", field="Content-Type"
        )
    async with request.form(max_files=1, max_fields=1) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise BadRequest(
                "Send the CSV as the multipart field `file`.", code="required", field="file"
            )
        job = await imports.submit(file_chunks(file), file.filename or "", principal, attempt)
    url = location(request, job_path(job.id))
    return json_response(
        Envelope(data=job_read(request, job)),
        status_code=202,
        headers={"Location": url},
        etag=False,
    )
