"""How an annotation tool reaches a pool image."""
import os.path as osp
import urllib.parse

#: Label Studio serves local files under this path
#: (``LOCAL_FILES_SERVING_ENABLED=true``, ``LOCAL_FILES_DOCUMENT_ROOT``).
LABEL_STUDIO_LOCAL_FILES = '/data/local-files/?d='
KINDS = ('path', 'url', 'label_studio_local_files')


class ImageReference:
    """Turns a pool ``file_name`` into what the tool's task names.

    Args:
        kind (str): ``'path'`` (absolute local path: image folder +
            ``file_name``), ``'url'`` (``prefix`` + ``file_name``, URL
            quoted) or ``'label_studio_local_files'``
            (``/data/local-files/?d=`` + the image's path relative to
            ``document_root``, Label Studio's local-files serving).
            Defaults to ``'path'``.
        prefix (str): URL prefix of ``'url'``. Defaults to ''.
        document_root (str, optional): ``LOCAL_FILES_DOCUMENT_ROOT`` of
            the Label Studio server, for ``'label_studio_local_files'``;
            defaults to ``/``.
    """

    def __init__(self,
                 kind: str = 'path',
                 prefix: str = '',
                 document_root: str = '/'):
        if kind not in KINDS:
            raise ValueError(f'kind {kind!r}: '
                             f'expected one of {list(KINDS)}')
        if kind == 'url' and not prefix:
            raise ValueError("kind 'url' needs a "
                             'prefix (e.g. https://host/images/)')
        self.kind = kind
        self.prefix = prefix
        self.document_root = osp.abspath(document_root)

    def __call__(self, img_dir: str, file_name: str) -> str:
        path = osp.abspath(osp.join(img_dir, file_name))
        if self.kind == 'path':
            return path
        if self.kind == 'url':
            return self.prefix + urllib.parse.quote(file_name)
        rel = osp.relpath(path, self.document_root)
        if rel.startswith('..'):
            raise ValueError(
                f'image {path} is not under the Label Studio document root '
                f'{self.document_root} (al.oracle.images.document_root, '
                'LOCAL_FILES_DOCUMENT_ROOT)')
        return LABEL_STUDIO_LOCAL_FILES + urllib.parse.quote(rel)
