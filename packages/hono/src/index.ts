export { httpCache } from "./http-cache-middleware.js";
