"""`sam-stack download [NAME...]`: fetch official checkpoints into the cache, or list them."""

from .models.catalog import CATALOG, fetch, is_cached, list_models
from .models.user_cache import CACHE_ENV, user_cache_dir

DESCRIPTION = f"""\
Downloads official checkpoints by name into the user cache (~/.cache/sam-stack on Linux; set
{CACHE_ENV} to use another folder), checking each file's size and SHA-256 before it is put
there. A download that breaks off resumes where it stopped when run again. A file already in the
cache is checked again and kept if it is intact. Without NAME, lists the catalog and the cache
folder."""


def register(subparsers) -> None:
    parser = subparsers.add_parser("download", help="fetch official checkpoints into the cache", description=DESCRIPTION)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(list_models())}")
    parser.set_defaults(run=run)


def run(args) -> int:
    if not args.names:
        _print_catalog()
        return 0
    for name in args.names:
        print(f"{name}: {fetch(name, verify=True)}")
    return 0


def _print_catalog() -> None:
    print(f"{'name':<24}{'version':<9}{'size':<11}{'file':>10}  in cache")
    for name, entry in CATALOG.items():
        cached = "yes" if is_cached(name) else "no"
        print(f"{name:<24}{entry.version:<9}{entry.size:<11}{entry.num_bytes / 2**20:>6.0f} MiB  {cached}")
    print(f"cache: {user_cache_dir() / 'models'}")
