/**
 * {@code unet4j serve}: an image-generation HTTP server on Javalin (Jetty 12). Models come from a registry of names
 * ({@link dev.unet4j.server.ModelRegistry}), are loaded once and shared; generations run on a bounded worker pool
 * with a bounded queue ({@link dev.unet4j.server.GenerationQueue}); every request is validated before any work.
 * Routes: OpenAI ({@link dev.unet4j.server.OpenAiRoutes}), AUTOMATIC1111 ({@link dev.unet4j.server.A1111Routes}),
 * native with server-sent progress ({@link dev.unet4j.server.NativeRoutes}), health, Prometheus metrics and a web
 * page. Entry point: {@link dev.unet4j.server.UnetServer}.
 */
package dev.unet4j.server;
