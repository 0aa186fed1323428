// The one seeded generator of the repository lives in @cachet/test-utils; the chaos runs keep
// their historical name for it.
export { seededRandom as mulberry32 } from "@cachet/test-utils";
