"""Uploaded files streamed from the request body straight to disk, after the caller is known.

A route that declares `UploadFile` parameters has FastAPI read (and spool) the whole multipart body
before any dependency runs, so before the token is checked. A route using `receive_files` declares
no body parameter: its permission dependency runs first, then the body is read here chunk by chunk
through python-multipart's streaming parser, each file written to the path `place` gives it (which
may refuse the part's field or file name before a byte of it is written) and bounded in size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from service.api.problems import Problem

Place = Callable[[str, str | None], Path]  # (field, file name) -> where the part goes


class _Receiver:
    def __init__(self, place: Place, max_file_bytes: int, max_files: int) -> None:
        self.place, self.max_file_bytes, self.max_files = place, max_file_bytes, max_files
        self.paths: list[Path] = []
        self.header_name = self.header_value = b""
        self.disposition = b""
        self.file: IO[bytes] | None = None
        self.size = 0
        self.pending: list[tuple[IO[bytes], bytes]] = []  # written off the event loop, per chunk read

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.part_begin, "on_header_field": self.header_field,
            "on_header_value": self.header_value_part, "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }  # fmt: skip

    def part_begin(self) -> None:
        self.disposition, self.size, self.file = b"", 0, None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_value_part(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        field = options.get(b"name", b"").decode("utf-8", "replace")
        raw_name = options.get(b"filename")
        try:
            filename = None if raw_name is None else raw_name.decode("utf-8")
        except UnicodeDecodeError:
            filename = raw_name.decode("latin-1") if raw_name is not None else None
        if len(self.paths) >= self.max_files:
            raise Problem(413, f"at most {self.max_files} files in one import", kind="too-large")
        path = self.place(field, filename)  # refuses a bad field or name before anything is written
        self.file = path.open("xb")
        self.paths.append(path)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        assert self.file is not None
        self.size += end - start
        if self.size > self.max_file_bytes:
            name = self.paths[-1].name
            raise Problem(413, f"{name} is larger than {self.max_file_bytes // 2**20} MB", kind="too-large")
        self.pending.append((self.file, data[start:end]))

    def part_end(self) -> None:
        if self.file is not None:
            self.pending.append((self.file, b""))  # b"": close it once written

    def flush(self) -> None:
        for file, data in self.pending:
            if data:
                file.write(data)
            else:
                file.close()
        self.pending.clear()

    def close(self) -> None:
        for file, _ in self.pending:
            file.close()
        if self.file is not None:
            self.file.close()


async def receive_files(
    request: Request, *, place: Place, max_file_bytes: int, max_files: int = 32
) -> list[Path]:
    """The body's files, written where `place` says; 422 if it is not multipart/form-data or holds no
    file, 400 if it is malformed, 413 past a bound. On any failure the caller removes what was
    written (the files are in its folder)."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or not params.get(b"boundary"):
        raise Problem(422, "body: send the files as multipart/form-data (field 'files')",
                      kind="invalid-request", detail_zh="请求体：请以 multipart/form-data 上传文件（字段 files）",
                      errors=[{"in": "body", "pointer": "/files", "detail": "multipart/form-data expected"}])  # fmt: skip
    receiver = _Receiver(place, max_file_bytes, max_files)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if receiver.pending:
                await run_in_threadpool(receiver.flush)
        parser.finalize()
        receiver.flush()
    except FormParserError:
        raise Problem(
            400, "the body is not well-formed multipart/form-data", kind="invalid-request"
        ) from None
    finally:
        receiver.close()
    if not receiver.paths:
        raise Problem(422, "body /files: at least one file is needed", kind="invalid-request",
                      detail_zh="请求体 /files：至少需要一个文件",
                      errors=[{"in": "body", "pointer": "/files", "detail": "at least one file"}])  # fmt: skip
    return receiver.paths
