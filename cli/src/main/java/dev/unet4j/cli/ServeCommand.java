package dev.unet4j.cli;

import dev.unet4j.server.ImageBackend;
import dev.unet4j.server.ModelRegistry;
import dev.unet4j.server.ModelSpec;
import dev.unet4j.server.ServerConfig;
import dev.unet4j.server.UnetServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "serve", sortOptions = false, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {
                "Serves image generation over HTTP: OpenAI (/v1/images/generations, /v1/models), AUTOMATIC1111 "
                        + "(/sdapi/v1/txt2img, img2img, progress, interrupt), native (/v1/generate with server-sent "
                        + "progress events), /healthz, /metrics (Prometheus) and a web page at /.",
                "Models are loaded once and shared; requests name a model from --model, never a path. With no "
                        + "--model it serves the bundled demos: demo-digits (prompts such as \"7\") and demo-text (\"a handwritten seven\")."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  unet4j serve                                   # http://127.0.0.1:7860/ with the demo model",
                "  unet4j serve --port 8080 --model digits=./my-digits --api-key-file keys.txt",
                "  curl -s localhost:7860/sdapi/v1/txt2img -d '{\"prompt\":\"7\",\"seed\":42}'"})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "Address to bind. Default: ${DEFAULT-VALUE} (this machine only); 0.0.0.0 exposes the server to the network.")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "7860", description = "TCP port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--model", paramLabel = "NAME=DIR",
            description = "A model to serve under NAME (repeatable; the first is the default): a diffusers UNet2DModel "
                    + "class-conditional folder or a Stable Diffusion pipeline folder. demo-digits and demo-text alone name the "
                    + "bundled demos. Default: both bundled demos.")
    List<String> models = new ArrayList<>();

    @Option(names = "--workers", paramLabel = "N", description = "Generations run at once. Default: cores / OMP_NUM_THREADS, at least 1.")
    Integer workers;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "16",
            description = "Generations waiting for a worker; more get 429 with Retry-After. Default: ${DEFAULT-VALUE}.")
    int queue;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require Authorization: Bearer KEY (repeatable). Default: no keys.")
    List<String> apiKeys = new ArrayList<>();

    @Option(names = "--api-key-file", paramLabel = "FILE", description = "Accepted keys, one a line (# comments).")
    Path apiKeyFile;

    @Option(names = "--cors-origin", paramLabel = "ORIGIN", description = "Allow browser pages from ORIGIN (repeatable). Default: CORS off.")
    List<String> corsOrigins = new ArrayList<>();

    @Option(names = "--max-pixels", paramLabel = "N", description = "Largest width x height. Default: 1048576.")
    Long maxPixels;

    @Option(names = "--max-steps", paramLabel = "N", description = "Most sampler steps. Default: 150.")
    Integer maxSteps;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Stop a generation running longer. Default: 600.")
    Integer timeoutSeconds;

    @Option(names = "--batch-window", paramLabel = "MS",
            description = "Request batching: compatible waiting requests (same model, size, steps, sampler, guidance) run as one "
                    + "UNet batch; while others are in flight a worker waits up to MS for more. Default: 0 (off).")
    int batchWindowMs;

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        common.checkThreads(spec.commandLine().getErr());
        ServerConfig config = config();
        List<ModelSpec> specs = specs();
        try (ModelRegistry registry = ModelRegistry.load(specs, ServeCommand::load);
             UnetServer server = UnetServer.start(config, registry)) {
            Thread hook = new Thread(server::close, "unet4j-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                out.println("unet4j serve: listening on " + server.uri() + " (models: "
                        + String.join(", ", registry.all().stream().map(b -> b.info().name()).toList()) + "; "
                        + config.workers() + " worker(s), queue " + config.queueCapacity()
                        + (config.apiKeys().isEmpty() ? "" : ", API key required") + ")");
                out.flush();
                server.join();
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running: it closes the server
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stopped by an embedding caller; the server is closed
        } catch (IOException e) {
            throw new UserException(e.getMessage(), e);
        }
        return Main.EXIT_OK;
    }

    private ServerConfig config() throws IOException {
        if (port < 0 || port > 65535) throw new UserException("--port must be 0..65535, got " + port);
        if (queue < 0) throw new UserException("--queue must be >= 0, got " + queue);
        if (batchWindowMs < 0) throw new UserException("--batch-window must be >= 0, got " + batchWindowMs);
        if (workers != null && workers < 1) throw new UserException("--workers must be >= 1, got " + workers);
        Set<String> keys = new LinkedHashSet<>(apiKeys);
        if (apiKeyFile != null) {
            if (!Files.isRegularFile(apiKeyFile)) throw new UserException("--api-key-file not found: " + apiKeyFile);
            for (String line : Files.readAllLines(apiKeyFile, StandardCharsets.UTF_8)) {
                String k = line.strip();
                if (!k.isEmpty() && !k.startsWith("#")) keys.add(k);
            }
        }
        for (String k : keys) if (k.isBlank() || k.chars().anyMatch(Character::isWhitespace)) throw new UserException("API keys must be non-empty with no spaces");
        ServerConfig d = ServerConfig.defaults();
        try {
            return d.withHost(host).withPort(port).withWorkers(workers == null ? d.workers() : workers, queue)
                    .withLimits(d.maxBodyBytes(), d.maxImageBytes(), maxPixels == null ? d.maxPixels() : maxPixels,
                            maxSteps == null ? d.maxSteps() : maxSteps, d.maxPromptChars(), d.maxImages())
                    .withTimeout(timeoutSeconds == null ? d.timeout() : Duration.ofSeconds(timeoutSeconds))
                    .withApiKeys(keys).withCorsOrigins(corsOrigins).withBatchWindow(Duration.ofMillis(batchWindowMs));
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
    }

    private List<ModelSpec> specs() {
        List<ModelSpec> specs = new ArrayList<>();
        if (models.isEmpty()) models = List.of(DemoModel.NAME, DemoText.NAME);
        for (String m : models) {
            try {
                specs.add(m.equals(DemoModel.NAME) ? demo() : m.equals(DemoText.NAME) ? demoText() : ModelSpec.parse(m));
            } catch (IllegalArgumentException e) {
                throw new UserException(e.getMessage(), e);
            }
        }
        return specs;
    }

    /** The bundled demo with its recommended guidance and null class (as {@code generate}'s defaults). */
    private static ModelSpec demo() {
        return new ModelSpec(DemoModel.NAME, DemoModel.folder(), DemoModel.NULL_CLASS, DemoModel.GUIDANCE, 0, null);
    }

    /** The bundled text-to-image demo with generate's defaults for it (DDIM, 25 steps, guidance 3). */
    private static ModelSpec demoText() {
        return new ModelSpec(DemoText.NAME, DemoText.folder(), -1, DemoText.GUIDANCE, DemoText.STEPS, DemoText.SCHEDULER);
    }

    /** A copy of the demo (same config.json) gets the demo's defaults, as in {@code generate}. */
    private static ImageBackend load(ModelSpec s) throws IOException {
        Path config = s.dir().resolve("config.json");
        if (Double.isNaN(s.guidance()) && Files.isRegularFile(config) && DemoModel.isDemoConfig(Files.readAllBytes(config))) {
            s = new ModelSpec(s.name(), s.dir(), DemoModel.NULL_CLASS, DemoModel.GUIDANCE, 0, null);
        }
        return ModelRegistry.loadDefault(s);
    }
}
