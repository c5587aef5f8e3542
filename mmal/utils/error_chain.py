"""Walk an exception and the errors it was raised from."""
from typing import Iterator, Optional


def error_chain(e: Optional[BaseException]) -> Iterator[BaseException]:
    """``e``, then what it was raised from (``__cause__``) or raised while
    handling (``__context__``), and so on."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__
