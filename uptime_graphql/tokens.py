"""(being built: issue 20)"""

from __future__ import annotations

import strawberry


@strawberry.type
class QueryPart:
    pass


@strawberry.type
class MutationPart:
    pass
