"""ApplicationSet generation: generators, templating and rendering of Applications (upstream applicationset/).

Boundary: pure. Imports ``argocd_server.errors``, ``argocd_server.labels`` and ``argocd_server.schemas`` only (never
``db``, ``api``, ``services`` or FastAPI). What needs the outside world comes in through the caller:

* registered clusters as a callable returning :class:`ClusterInfo` (the in-cluster destination is added here, as
  upstream's generator does);
* repository content as a :class:`RepoFiles` (directories, and files selected by a pathspec, at a revision).

Public interface::

    validate_generators(spec)                     # InvalidArgument for input Go's JSON decoding would refuse
    result = generate_applications(appset_doc, clusters=lambda: [...], repos=repo_files)
        .applications   # Application wire documents, in generation order
        .error          # the first GenerationError met (None when every generator and render succeeded)
        .log            # LogEntry lines upstream appends to Generate's error text
    GenerationError.resolve(suffix=...)           # the ArgoError the API answers with

Modules: :mod:`.generators` (list, clusters, git, matrix, merge, selectors), :mod:`.render` (fasttemplate and Go
template rendering, template merge and templatePatch), :mod:`.gotemplate` and :mod:`.sprig` (the Go template subset
and its functions), :mod:`.goformat` (Go's printing of values), :mod:`.repo_tree` (walking a checked-out revision).
"""

from .errors import GenerationError
from .generators import (
    IN_CLUSTER_NAME,
    IN_CLUSTER_SERVER,
    ClusterInfo,
    GenerationResult,
    LogEntry,
    RepoFiles,
    flatten_parameters,
    generate_applications,
    validate_generators,
)
from .render import RESOURCES_FINALIZER, Renderer
from .repo_tree import list_directories, match_files

__all__ = [
    "IN_CLUSTER_NAME",
    "IN_CLUSTER_SERVER",
    "RESOURCES_FINALIZER",
    "ClusterInfo",
    "GenerationError",
    "GenerationResult",
    "LogEntry",
    "Renderer",
    "RepoFiles",
    "flatten_parameters",
    "generate_applications",
    "list_directories",
    "match_files",
    "validate_generators",
]
