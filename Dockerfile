# meshbench as an image, for env.image in a kubernetes scenario (without it, meshbench runs its bundled code on
# the stock node image from a ConfigMap and needs no image at all). The entrypoint is the meshbench CLI:
#   docker build -t meshbench:dev .
#   kind load docker-image meshbench:dev --name meshbench     # or: k3d image import meshbench:dev -c meshbench
FROM node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY scenarios ./scenarios
COPY bin ./bin
# uid 1000: the pods run as non-root 1000 with a read-only root filesystem
USER node
EXPOSE 8080 9090
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["echo", "--host", "0.0.0.0"]
