/**
 * wasi:filesystem for component jobs. A job without a files tree gets no preopened directory,
 * as preview1 modules do: it sees an empty filesystem and nothing of the host's.
 */

/** A job's own files (the in-memory tree of its version's `files`); none yet: no preopens. */
export type FileTree = never;

/** Exists so the glue links; no descriptor is ever handed out without a tree. */
class Descriptor {}
class DirectoryEntryStream {}

export class ComponentFilesystem {
  constructor(private readonly tree: FileTree | undefined) {}

  /** wasi:filesystem/preopens.get-directories */
  preopens(): [Descriptor, string][] {
    return this.tree === undefined ? [] : [];
  }

  static typesInterface(): Record<string, unknown> {
    return { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined };
  }
}
