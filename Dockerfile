# One image for the API, the worker and the one-shot migration; docker-compose.yml picks the command.
# tsx runs the TypeScript directly (it is a runtime dependency), so there is no separate build step.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# npm install, not npm ci: see the Makefile (the lock file lists only the platforms our registry serves).
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
USER node
EXPOSE 3000 9464
# node itself as the program (no npx or tsx wrapper in between), so `docker stop`'s SIGTERM reaches it.
CMD ["node", "--import", "tsx", "api/main.ts"]
