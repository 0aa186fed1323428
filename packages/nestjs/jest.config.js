// Nest 12 ships ES modules only, so this suite runs jest in ESM mode (`--experimental-vm-modules`,
// see package.json) with ts-jest emitting ES modules; the shared preset is CommonJS.
import preset from "../../jest.preset.js";

export default {
  ...preset,
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.test.json", useESM: true }],
  },
};
