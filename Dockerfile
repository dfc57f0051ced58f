# One image for the API, the worker and the one-shot migration; docker-compose.yml picks the command.
# Build stage: compiles the TypeScript and bundles the workflow code (`make build`, dev/build.ts) into dist/, so
# the image runs plain JavaScript: no tsx, no compilation at start, and a worker that loads the prebuilt bundle.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: see the Makefile (the lock file lists only the platforms our registry serves).
RUN npm install --no-audit --no-fund
COPY . .
RUN node --import tsx dev/build.ts

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000 9464
# node itself as the program (no npx or tsx wrapper in between), so `docker stop`'s SIGTERM reaches it.
CMD ["node", "dist/api/main.js"]
