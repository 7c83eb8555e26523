// The error hierarchy, named as the Python runtime's (rnnconvert/errors.py): one base
// class to catch, a subclass saying which kind of problem it is.

export class RnnConvertError extends Error {
  constructor(message) {
    super(message);
    this.name = this.constructor.name;
  }
}
/** A malformed bundle, or a file that is not what it claims to be. */
export class FormatError extends RnnConvertError {}
/** A bundle of a format version this runtime cannot read. */
export class VersionError extends RnnConvertError {}
/** Wrong inputs given to predict/step. */
export class InputError extends RnnConvertError {}
/** An input, file or array larger than the configured bound. */
export class ResourceError extends RnnConvertError {}
/** Input that tries to escape its directory or run code. */
export class SecurityError extends RnnConvertError {}
