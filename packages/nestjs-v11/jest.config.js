// The @cachet/nestjs suite, run from its own directory, with every NestJS module (and the rxjs and
// reflect-metadata they share) mapped to this package's NestJS 11 install. Both the tests and the
// package's source (../nestjs/src) then run on NestJS 11; the suite asserts the major it loaded.
import { fileURLToPath } from "node:url";
import base from "../nestjs/jest.config.js";

const own = (name) => fileURLToPath(new URL(`./node_modules/${name}`, import.meta.url));

export default {
  ...base,
  rootDir: fileURLToPath(new URL("../nestjs", import.meta.url)),
  moduleNameMapper: {
    ...base.moduleNameMapper,
    "^@nestjs/(common|core|testing|platform-express|platform-fastify)$": `${own("@nestjs")}/$1`,
    "^@nestjs/(common|core|testing|platform-express|platform-fastify)/(.*)$": `${own("@nestjs")}/$1/$2`,
    "^rxjs$": own("rxjs"),
    "^rxjs/(.*)$": `${own("rxjs")}/$1`,
    "^reflect-metadata$": own("reflect-metadata"),
  },
};
