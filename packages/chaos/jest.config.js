// ESM because this package is "type": "module"; the shared preset is CommonJS.
import preset from "../../jest.preset.js";

export default { ...preset };
