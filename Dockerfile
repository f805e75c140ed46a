# One image for both production processes: `npm run api` and `npm run worker`.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# patch-package applies patches/ on install (a crash fix for the postgres driver, see README).
COPY patches ./patches
# tsx runs the TypeScript sources directly; dev dependencies are not needed at runtime.
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# The workflow code, prebundled: workers of this image run exactly this bundle (README "Running in production").
RUN npm run build
USER node
# PORT: the admin API and console; DEP_PORT: the MDM-facing service (the base URL MDM services are given).
EXPOSE 3000 3001
CMD ["npm", "run", "api"]
