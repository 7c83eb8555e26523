// rnnconvert: run bundles written by the rnnconvert converter in JavaScript (Node >= 18
// and browsers), with no dependencies. See README.md, "JavaScript runtime".

export { load, Model } from "./src/model.js";
export { check } from "./src/verify.js";
export { Tensor } from "./src/tensor.js";
export { FORMAT_VERSION } from "./src/bundle.js";
export { OP_TYPES, loadOps } from "./src/ops/index.js";
export { FormatError, InputError, ResourceError, RnnConvertError, SecurityError, VersionError } from "./src/errors.js";

import { Model } from "./src/model.js";
import { check as runCheck } from "./src/verify.js";

/** model.check(): run the bundle's embedded test vectors. */
Model.prototype.check = function check() {
  return runCheck(this);
};
