/**
 * Files as a process sees them: a task's file-descriptor table (struct files_struct) of open
 * files (struct file: the file, the access mode, the offset, the readahead state), and the system
 * calls on it — open, pipe, close, read, write, pread64, pwrite64, lseek, ftruncate, fsync, fdatasync,
 * posix_fadvise, fstat — through the page cache (filemap.ts), with Linux's errnos (fs/open.c, fs/read_write.c,
 * mm/filemap.c filemap_read and generic_perform_write, mm/fadvise.c, fs/stat.c).
 *
 * A file read from its source ("disk") enters the cache only when read (filemap_read's readahead
 * window); a write creates its pages in the cache, dirty, reading the source only for a page it
 * covers in part (write_begin); fsync writes them back. fork shares the open files (the child's
 * table points at the same struct files, offsets included).
 *
 * Owns: the tables and their open files. The pages are the page cache's, the window readahead.ts's.
 */
import { type Backing, type FileSource, MemFileSource } from "./pagecache.js";
import type { MmContext } from "./args.js";
import type { MmapFile } from "./mmap.js";
import { Errno, fail } from "./errno.js";
import { type FileRaState, newRaState, forcePageCacheRa } from "./readahead.js";
import { filemapRead, performWrite, MAX_LFS_FILESIZE } from "./filemap.js";
import { Pipe, PipeEnd } from "./pipe.js";
import { truncateSetsize } from "./truncate.js";
import { pageMkclean } from "./madvise.js";
import { pageFlag } from "../machine/frames.js";

const PAGE = 4096;

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_CLOEXEC = 0o2000000;
/** Flags open accepts without effect in the model (O_NOCTTY, O_NONBLOCK, O_DSYNC, O_NOATIME, O_LARGEFILE, O_CLOEXEC, O_SYNC). */
const O_IGNORED = 0o400 | 0o4000 | 0o10000 | 0o1000000 | 0o100000 | O_CLOEXEC | 0o4010000;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

export const POSIX_FADV_NORMAL = 0;
export const POSIX_FADV_RANDOM = 1;
export const POSIX_FADV_SEQUENTIAL = 2;
export const POSIX_FADV_WILLNEED = 3;
export const POSIX_FADV_DONTNEED = 4;
export const POSIX_FADV_NOREUSE = 5;

/** An open file (struct file). */
export class OpenFile {
  readonly backing: Backing;
  /** O_* flags it was opened with (the access mode in the low two bits). */
  readonly flags: number;
  /** f_pos. */
  pos = 0;
  /** f_ra. */
  readonly ra: FileRaState;
  /** Descriptors (in any table) that refer to it. */
  refs = 0;

  constructor(backing: Backing, flags: number, ra: FileRaState) {
    this.backing = backing;
    this.flags = flags;
    this.ra = ra;
  }

  get readable(): boolean {
    return (this.flags & O_ACCMODE) === O_RDONLY || (this.flags & O_ACCMODE) === O_RDWR;
  }

  get writable(): boolean {
    return (this.flags & O_ACCMODE) === O_WRONLY || (this.flags & O_ACCMODE) === O_RDWR;
  }
}

/** What fstat returns (struct stat, the fields the model knows). */
export interface FileStat {
  dev: readonly [number, number];
  ino: number;
  /** S_IFREG | 0644. */
  mode: number;
  nlink: number;
  size: number;
  blksize: number;
  /** 512-byte units allocated (the file's pages, all allocated). */
  blocks: number;
}

/** What the file system calls need of the kernel: the mm context and the files by path. */
export interface FileContext extends MmContext {
  file(path: string): Backing | undefined;
  addFile(path: string, content: FileSource): Backing;
}

/** What a descriptor refers to: an open regular file or an end of a pipe. */
export type OpenObject = OpenFile | PipeEnd;

/** A task's descriptor table (struct files_struct). */
export class FdTable {
  private readonly fds: (OpenObject | null)[] = [];
  /** Descriptors with FD_CLOEXEC (O_CLOEXEC at open). */
  private readonly cloexec = new Set<number>();

  /** The open regular file behind `fd`, or undefined (not open, or a pipe). */
  get(fd: number): OpenFile | undefined {
    const f = this.object(fd);
    return f instanceof OpenFile ? f : undefined;
  }

  /** Whatever `fd` refers to, or undefined. */
  object(fd: number): OpenObject | undefined {
    return Number.isInteger(fd) && fd >= 0 ? this.fds[fd] ?? undefined : undefined;
  }

  /** Descriptors open now. */
  get count(): number {
    return this.fds.filter((f) => f !== null && f !== undefined).length;
  }

  /** get_unused_fd_flags + fd_install: the lowest free descriptor now refers to `f`. */
  install(f: OpenObject, closeOnExec = false): number {
    let fd = this.fds.indexOf(null);
    if (fd < 0) fd = this.fds.length;
    this.fds[fd] = f;
    f.refs++;
    if (closeOnExec) this.cloexec.add(fd); else this.cloexec.delete(fd);
    return fd;
  }

  /** do_close_on_exec: execve closes every FD_CLOEXEC descriptor. */
  closeOnExec(): void {
    for (const fd of [...this.cloexec]) this.remove(fd);
  }

  /** close_fd (fput of the last reference releases a pipe end): @returns what it referred to, or undefined (EBADF). */
  remove(fd: number): OpenObject | undefined {
    const f = this.object(fd);
    if (f === undefined) return undefined;
    this.fds[fd] = null;
    this.cloexec.delete(fd);
    f.refs--;
    if (f.refs === 0 && f instanceof PipeEnd) f.release();
    return f;
  }

  /** dup_fd (fork): a new table referring to the same open files. */
  fork(): FdTable {
    const t = new FdTable();
    for (const f of this.fds) {
      t.fds.push(f);
      if (f !== null) f.refs++;
    }
    for (const fd of this.cloexec) t.cloexec.add(fd);
    return t;
  }

  /** exit_files: every descriptor closed. */
  closeAll(): void {
    for (let fd = 0; fd < this.fds.length; fd++) this.remove(fd);
    this.fds.length = 0;
  }
}

/** pipefs's device (an anonymous block device, 0:13 on the reference kernel's boot order). */
const PIPEFS_DEV: readonly [number, number] = [0, 13];
let pipeInodes = 1000;

const badFd = (fd: number, call: string) => fail("EBADF", `${call}: ${fd} is not an open file descriptor`);

function validCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * The file system calls of one task. Created by the task (`task.files`), sharing its table.
 */
export class Files {
  private readonly os: FileContext;
  /** The descriptor table. */
  table: FdTable;

  private readonly run: <T>(call: () => T) => T;

  /**
   * @param run how a system call runs (Task.sys: the task is current while it does, so its page
   *   cache is charged to the task's memory group, and kswapd runs after it); default: directly
   */
  constructor(os: FileContext, table: FdTable = new FdTable(), run: <T>(call: () => T) => T = (call) => call()) {
    this.os = os;
    this.table = table;
    this.run = run;
  }

  /**
   * open(path, flags): a new descriptor, the lowest free. ENOENT without O_CREAT for a missing
   * file, EEXIST with O_CREAT|O_EXCL for an existing one, EINVAL for unknown flags; O_TRUNC on a
   * writable open empties the file.
   */
  open(path: string, flags = O_RDONLY): number | Errno {
    return this.run(() => this.openNow(path, flags));
  }
  /**
   * pipe(): a read end and a write end, the two lowest free descriptors. On a pipe, pread, pwrite,
   * lseek and fadvise are ESPIPE, ftruncate and fsync EINVAL, mmap ENODEV (pipe.ts: never blocks).
   */
  pipe(): [number, number] {
    return this.run(() => this.pipeNow());
  }

  /** close(fd): EBADF when not open. */
  close(fd: number): 0 | Errno {
    return this.run(() => this.closeNow(fd));
  }
  /** read(fd, count): up to `count` bytes from the file offset, which advances. */
  read(fd: number, count: number): Uint8Array | Errno {
    return this.run(() => this.readNow(fd, count));
  }
  /** pread64(fd, count, offset): the offset stays; a negative offset is EINVAL. */
  pread(fd: number, count: number, offset: number): Uint8Array | Errno {
    return this.run(() => this.preadNow(fd, count, offset));
  }
  /** write(fd, bytes) at the offset (at the end with O_APPEND); the offset advances. @returns bytes written */
  write(fd: number, bytes: Uint8Array | string): number | Errno {
    return this.run(() => this.writeNow(fd, bytes));
  }
  /** pwrite64(fd, bytes, offset): the offset stays (O_APPEND still appends, as on Linux). */
  pwrite(fd: number, bytes: Uint8Array | string, offset: number): number | Errno {
    return this.run(() => this.pwriteNow(fd, bytes, offset));
  }
  /**
   * lseek(fd, offset, whence) (generic_file_llseek_size): SEEK_SET/CUR/END; SEEK_DATA and
   * SEEK_HOLE see no holes (data up to the end, the hole at it) and are ENXIO at or past the end;
   * a negative result or unknown whence is EINVAL.
   */
  lseek(fd: number, offset: number, whence: number): number | Errno {
    return this.run(() => this.lseekNow(fd, offset, whence));
  }
  /** ftruncate(fd, length) (do_sys_ftruncate): EINVAL for a negative length or a descriptor not open for writing. */
  ftruncate(fd: number, length: number): 0 | Errno {
    return this.run(() => this.ftruncateNow(fd, length));
  }
  /** fsync(fd): write the file's dirty pages back (file_write_and_wait_range), each PTE mapping one write-protected again. */
  fsync(fd: number): 0 | Errno {
    return this.run(() => this.fsyncNow(fd));
  }
  /** fdatasync(fd): the same as fsync here (the model keeps no metadata apart from the size). */
  fdatasync(fd: number): 0 | Errno {
    return this.run(() => this.fdatasyncNow(fd));
  }
  /**
   * posix_fadvise(fd, offset, len, advice) (generic_fadvise; len 0 = to the end). NORMAL, RANDOM,
   * SEQUENTIAL set the window (ra_pages, none, twice ra_pages); WILLNEED reads the range
   * (force_page_cache_readahead); DONTNEED starts writeback of the range's dirty pages and drops
   * the clean, unmapped ones (invalidate_mapping_pages — a page that was dirty is under writeback
   * then and stays); NOREUSE does nothing. EBADF, EINVAL (advice, negative length). Returns the
   * errno as a value, as the system call does (glibc's posix_fadvise returns it instead of -1).
   */
  fadvise(fd: number, offset: number, len: number, advice: number): 0 | Errno {
    return this.run(() => this.fadviseNow(fd, offset, len, advice));
  }
  /** fstat(fd). */
  fstat(fd: number): FileStat | Errno {
    return this.run(() => this.fstatNow(fd));
  }
  /**
   * The file `fd` names, for mmap: EBADF when not open, EACCES when not open for reading
   * (do_mmap needs FMODE_READ); `writable` follows the access mode (a MAP_SHARED PROT_WRITE
   * mapping of an O_RDONLY descriptor is then EACCES).
   */
  mmapFile(fd: number): MmapFile | Errno {
    return this.run(() => this.mmapFileNow(fd));
  }

  private openNow(path: string, flags = O_RDONLY): number | Errno {
    if (!Number.isInteger(flags) || (flags & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_IGNORED)) !== 0) return fail("EINVAL", `open: unknown flags 0o${flags.toString(8)}`);
    if (typeof path !== "string" || path.length === 0) return fail("ENOENT", "open: empty path");
    let b = this.os.file(path);
    if (b !== undefined && (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return fail("EEXIST", `open: ${path} exists`);
    if (b === undefined) {
      if (!(flags & O_CREAT)) return fail("ENOENT", `open: no file ${path}`);
      b = this.os.addFile(path, new MemFileSource(new Uint8Array(0)));
    }
    const f = new OpenFile(b, flags, newRaState(this.os));
    if ((flags & O_TRUNC) && f.writable && (b.source?.size ?? 0) > 0) {
      const r = truncateSetsize(this.os, b, 0);
      if (r !== 0) return r;
    }
    return this.table.install(f, (flags & O_CLOEXEC) !== 0);
  }

  private pipeNow(): [number, number] {
    const p = new Pipe(pipeInodes++);
    return [this.table.install(new PipeEnd(p, false)), this.table.install(new PipeEnd(p, true))];
  }

  private closeNow(fd: number): 0 | Errno {
    return this.table.remove(fd) === undefined ? badFd(fd, "close") : 0;
  }

  private readable(fd: number, call: string): OpenFile | Errno {
    const f = this.table.get(fd);
    if (f === undefined || !f.readable) return badFd(fd, call); // FMODE_READ missing is EBADF too
    return f;
  }

  private writable(fd: number, call: string): OpenFile | Errno {
    const f = this.table.get(fd);
    if (f === undefined || !f.writable) return badFd(fd, call);
    return f;
  }

  private readNow(fd: number, count: number): Uint8Array | Errno {
    const o = this.table.object(fd);
    if (o instanceof PipeEnd) return o.writeEnd ? badFd(fd, "read") : validCount(count) ? o.pipe.read(count) : fail("EINVAL", "read: bad count");
    const f = this.readable(fd, "read");
    if (f instanceof Errno) return f;
    if (!validCount(count)) return fail("EINVAL", "read: count must be a non-negative integer");
    const r = filemapRead(this.os, f, f.pos, count);
    if (!(r instanceof Errno)) f.pos += r.length;
    return r;
  }

  private preadNow(fd: number, count: number, offset: number): Uint8Array | Errno {
    if (Number.isSafeInteger(offset) && offset < 0) return fail("EINVAL", "pread64: negative offset");
    if (this.table.object(fd) instanceof PipeEnd) return fail("ESPIPE", "pread64: a pipe has no offset");
    const f = this.readable(fd, "pread64");
    if (f instanceof Errno) return f;
    if (!validCount(count)) return fail("EINVAL", "pread64: count must be a non-negative integer");
    if (!Number.isSafeInteger(offset) || offset < 0) return fail("EINVAL", "pread64: negative offset");
    return filemapRead(this.os, f, offset, count);
  }

  private writeNow(fd: number, bytes: Uint8Array | string): number | Errno {
    const o = this.table.object(fd);
    if (o instanceof PipeEnd) return o.writeEnd ? o.pipe.write(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes) : badFd(fd, "write");
    const f = this.writable(fd, "write");
    if (f instanceof Errno) return f;
    if (f.flags & O_APPEND) f.pos = f.backing.source?.size ?? 0;
    const r = performWrite(this.os, f, f.pos, typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    if (typeof r === "number") f.pos += r;
    return r;
  }

  private pwriteNow(fd: number, bytes: Uint8Array | string, offset: number): number | Errno {
    if (Number.isSafeInteger(offset) && offset < 0) return fail("EINVAL", "pwrite64: negative offset");
    if (this.table.object(fd) instanceof PipeEnd) return fail("ESPIPE", "pwrite64: a pipe has no offset");
    const f = this.writable(fd, "pwrite64");
    if (f instanceof Errno) return f;
    if (!Number.isSafeInteger(offset) || offset < 0) return fail("EINVAL", "pwrite64: negative offset");
    const at = f.flags & O_APPEND ? f.backing.source?.size ?? 0 : offset;
    return performWrite(this.os, f, at, typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  }

  private lseekNow(fd: number, offset: number, whence: number): number | Errno {
    if (this.table.object(fd) instanceof PipeEnd) return fail("ESPIPE", "lseek: not on a pipe");
    const f = this.table.get(fd);
    if (f === undefined) return badFd(fd, "lseek");
    if (!Number.isSafeInteger(offset)) return fail("EINVAL", "lseek: offset must be an integer");
    const size = f.backing.source?.size ?? f.backing.size;
    let pos: number;
    switch (whence) {
      case SEEK_SET: pos = offset; break;
      case SEEK_CUR: pos = f.pos + offset; break;
      case SEEK_END: pos = size + offset; break;
      case SEEK_DATA: if (offset < 0 || offset >= size) return fail("ENXIO", "lseek: SEEK_DATA at or past the end"); pos = offset; break;
      case SEEK_HOLE: if (offset < 0 || offset >= size) return fail("ENXIO", "lseek: SEEK_HOLE at or past the end"); pos = size; break;
      default: return fail("EINVAL", `lseek: unknown whence ${whence}`);
    }
    if (pos < 0 || pos > MAX_LFS_FILESIZE) return fail("EINVAL", "lseek: the offset would be negative");
    f.pos = pos;
    return pos;
  }

  private ftruncateNow(fd: number, length: number): 0 | Errno {
    if (this.table.object(fd) instanceof PipeEnd) return fail("EINVAL", "ftruncate: not on a pipe");
    const f = this.table.get(fd);
    if (f === undefined) return badFd(fd, "ftruncate");
    if (!Number.isSafeInteger(length) || length < 0) return fail("EINVAL", "ftruncate: negative length");
    if (!f.writable) return fail("EINVAL", "ftruncate: the descriptor is not open for writing");
    return truncateSetsize(this.os, f.backing, length);
  }

  private fsyncNow(fd: number): 0 | Errno {
    if (this.table.object(fd) instanceof PipeEnd) return fail("EINVAL", "fsync: not on a pipe");
    const f = this.table.get(fd);
    if (f === undefined) return badFd(fd, "fsync");
    writebackFile(this.os, f.backing);
    return 0;
  }

  private fdatasyncNow(fd: number): 0 | Errno {
    if (this.table.object(fd) instanceof PipeEnd) return fail("EINVAL", "fdatasync: not on a pipe");
    const f = this.table.get(fd);
    if (f === undefined) return badFd(fd, "fdatasync");
    writebackFile(this.os, f.backing);
    return 0;
  }

  private fadviseNow(fd: number, offset: number, len: number, advice: number): 0 | Errno {
    if (this.table.object(fd) instanceof PipeEnd) return fail("ESPIPE", "fadvise64: not on a pipe");
    const f = this.table.get(fd);
    if (f === undefined) return badFd(fd, "fadvise64");
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(len) || len < 0) return fail("EINVAL", "fadvise64: negative length");
    const b = f.backing;
    const endbyte = len === 0 || offset + len - 1 > MAX_LFS_FILESIZE ? MAX_LFS_FILESIZE : offset + len - 1;
    const ra = f.ra;
    const raDefault = Math.floor(this.os.cache.readAheadKb / 4);
    switch (advice) {
      case POSIX_FADV_NORMAL: ra.raPages = raDefault; ra.random = false; return 0;
      case POSIX_FADV_RANDOM: ra.random = true; return 0;
      case POSIX_FADV_SEQUENTIAL: ra.raPages = 2 * raDefault; ra.random = false; return 0;
      case POSIX_FADV_NOREUSE: return 0;
      case POSIX_FADV_WILLNEED: {
        const start = Math.floor(Math.max(0, offset) / PAGE);
        const endIndex = Math.floor(endbyte / PAGE);
        const n = endIndex - start + 1;
        if (b.source !== null && n > 0) forcePageCacheRa(this.os, b, ra, start, Math.min(n, Math.ceil(b.source.size / PAGE)));
        return 0;
      }
      case POSIX_FADV_DONTNEED: {
        const first = Math.floor((Math.max(0, offset) + PAGE - 1) / PAGE);
        let last = Math.floor(endbyte / PAGE);
        if (endbyte !== MAX_LFS_FILESIZE && (endbyte + 1) % PAGE !== 0) last--; // a partial last page stays
        if (last < first) return 0;
        const wasDirty = new Set([...b.dirty].filter((i) => i >= first && i <= last));
        for (const i of wasDirty) { const pfn = b.pages.get(i); if (pfn !== undefined) pageMkclean(this.os, b, i, pfn); }
        this.os.cache.writeback(b, first, last);
        const frames = this.os.frames;
        for (const [index, pfn] of [...b.pages]) {
          if (index < first || index > last || wasDirty.has(index)) continue;
          if (frames.mapcount(pfn) !== 0 || frames.refcount(pfn) !== 1 || frames.test(pfn, pageFlag("locked") | pageFlag("writeback"))) continue;
          this.os.cache.reclaim(b, index, undefined);
        }
        return 0;
      }
      default: return fail("EINVAL", `fadvise64: unknown advice ${advice}`);
    }
  }

  private fstatNow(fd: number): FileStat | Errno {
    const o = this.table.object(fd);
    if (o instanceof PipeEnd) return { dev: PIPEFS_DEV, ino: o.pipe.inode, mode: 0o10600, nlink: 1, size: 0, blksize: PAGE, blocks: 0 };
    const f = this.table.get(fd);
    if (f === undefined) return badFd(fd, "fstat");
    const b = f.backing;
    const size = b.source?.size ?? b.size;
    return { dev: b.dev, ino: b.inode, mode: 0o100644, nlink: 1, size, blksize: PAGE, blocks: Math.ceil(size / PAGE) * (PAGE / 512) };
  }

  private mmapFileNow(fd: number): MmapFile | Errno {
    if (this.table.object(fd) instanceof PipeEnd) return fail("ENODEV", "mmap: not on a pipe");
    const f = this.table.get(fd);
    if (f === undefined) return badFd(fd, "mmap");
    if (!f.readable) return fail("EACCES", "mmap: the descriptor is not open for reading");
    return { file: f.backing, writable: f.writable };
  }
}

/** fsync's writeback: PTEs write-protected and cleaned (folio_mkclean), dirty pages written. */
function writebackFile(os: MmContext, b: Backing): void {
  for (const [index, pfn] of [...b.pages]) pageMkclean(os, b, index, pfn);
  os.cache.writeback(b);
}
