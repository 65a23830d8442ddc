/**
 * System-call errors as Linux returns them. A system call of the kernel model returns its value or
 * an Errno; it never throws for a bad argument (include/uapi/asm-generic/errno-base.h numbers).
 */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22,
  ENFILE: 23, EMFILE: 24, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EPIPE: 32, ERANGE: 34, EOVERFLOW: 75, EOPNOTSUPP: 95,
} as const;
export type ErrnoName = keyof typeof ERRNO;

/** A failed system call: `code` is the errno name, `errno` its number (the raw syscall returns -errno). */
export class Errno {
  readonly code: ErrnoName;
  readonly errno: number;
  /** Which call failed and why, for people. */
  readonly message: string;

  constructor(code: ErrnoName, message: string) {
    this.code = code;
    this.errno = ERRNO[code];
    this.message = message;
  }

  toString(): string {
    return `${this.code} (${this.errno}): ${this.message}`;
  }
}

/** Shorthand for `new Errno(code, message)`. */
export function fail(code: ErrnoName, message: string): Errno {
  return new Errno(code, message);
}

/** True when a system call's result is an error. */
export function isErrno(v: unknown): v is Errno {
  return v instanceof Errno;
}
