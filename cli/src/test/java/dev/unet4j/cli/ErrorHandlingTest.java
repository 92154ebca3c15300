package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exit codes and messages: 1 for bad input (at most three lines, no stack trace), 2 for usage errors. */
class ErrorHandlingTest {
    @TempDir
    Path dir;

    @Test
    void badInputExitsWithOneAndSaysWhat() {
        Cli.run("generate", "--scheduler", "plms").assertError(1, "unknown scheduler 'plms'").assertError(1, "dpmpp-2m-karras");
        Cli.run("generate", "--model", dir.resolve("nope")).assertError(1, "model folder not found: " + dir.resolve("nope"));
        Cli.run("generate", "--cache", "deepcash:3").assertError(1, "unknown cache policy 'deepcash'");
        Cli.run("generate", "--cache", "deepcache:interval=zero").assertError(1, "bad --cache 'deepcache:interval=zero'");
        Cli.run("generate", "--cache", "faster:every=2,noise=-1").assertError(1, "noise=-1 is not a prior-noise strength >= 0");
        Cli.run("generate", "--quant", "int4").assertError(1, "bad --quant 'int4': unknown scheme")
                .assertError(1, "valid: fp32, bf16, int8, int8-w8a8, fp8-e4m3, fp8-e5m2, dr:N");
        Cli.run("generate", "--quant", "dr:9").assertError(1, "bits must be 2..8");
        Cli.run("generate", "--class-label", 11).assertError(1, "out of range 0..10");
        Cli.run("generate", "--out", dir.resolve("x.jpg")).assertError(1, ".png or .safetensors");
        Cli.run("generate", "--scheduler", "euler", "--eta", 0.5).assertError(1, "--eta applies to ddim only");
        Cli.run("inspect", "--model", dir).assertError(1, "no model in " + dir);
    }

    @Test
    void schemesTheModulesDoNotProvideAreRefusedNotIgnored() {
        // between a fraction of the float32 bytes (<= 1) and average bits (>= 2): neither, refused before loading
        Cli.run("generate", "--quant", "mixed:1.5", "--class-label", 1).assertError(1, "bad --quant 'mixed:1.5'")
                .assertError(1, "a fraction in (0, 1] or average bits in [2, 8]");
        Cli.run("quantize", "--quant", "mixed:4", "--out", dir.resolve("q")).assertError(1, "a checkpoint does not store it");
        Cli.run("quantize", "--quant", "bf16", "--out", dir.resolve("q")).assertError(1, "nothing to quantize");
    }

    @Test
    void wrongTensorNamesAreListed() throws IOException {
        Path in = dir.resolve("in.safetensors");
        new SafetensorsWriter().add("sample", new float[16 * 16], 1, 1, 16, 16).add("timesteps", new float[1], 1)
                .add("latent", new float[1], 1).write(in);
        Cli.run("forward", "--inputs", in, "--output", dir.resolve("o.safetensors"))
                .assertError(1, "unexpected tensors timesteps, latent; expected sample, timestep");
        Path cond = dir.resolve("c.safetensors");
        new SafetensorsWriter().add("prompt_embeds", new float[4], 1, 2, 2).write(cond);
        Cli.run("generate", "--model", Fixtures.fixture("unet2d-cond-sd-tiny"), "--conditioning", cond)
                .assertError(1, "unexpected tensor prompt_embeds; expected encoder_hidden_states, encoder_hidden_states_uncond");
    }

    @Test
    void manyBadWeightsGiveACountAndTheFirstNames() throws IOException {
        // the DDPM fixture with every tensor renamed: 268 missing + 268 unexpected
        Path src = Fixtures.fixture("unet2d-ddpm-tiny");
        Path model = dir.resolve("renamed");
        Files.createDirectories(model);
        Files.copy(src.resolve("config.json"), model.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("diffusion_pytorch_model.safetensors"))) {
            for (TensorInfo i : f.infos()) {
                try (Tensor t = f.load(i.name())) {
                    w.add("model." + i.name(), t.toFloatArray(), i.shape());
                }
            }
        }
        w.write(model.resolve("diffusion_pytorch_model.safetensors"));
        for (String cmd : new String[] {"inspect", "generate"}) {
            Cli.Result r = Cli.run(cmd, "--model", model).assertError(1, "536 problems");
            assertEquals(3, r.errLines().size(), r.err());
            assertTrue(r.errLines().get(1).contains("missing conv_in.weight (expected [32, 3, 3, 3])"), r.err());
        }
    }

    @Test
    void usageErrorsExitWithTwo() {
        Cli.run("generate", "--stepz", 3).assertError(2, "Unknown option");
        Cli.run("generate", "--steps", "many").assertError(2, "'many' is not an int");
        Cli.run("generate", "--seed", 1, "--init-noise", dir.resolve("n.safetensors")).assertError(2, "mutually exclusive");
        Cli.run("forward", "--inputs", dir.resolve("in.safetensors")).assertError(2, "--output");
        Cli.run("frobnicate").assertError(2, "frobnicate");
        Cli.run().assertError(2, "missing command");
    }

    @Test
    void helpShowsExamplesAndExitsWithZero() {
        for (String cmd : new String[] {"generate", "forward", "bench", "inspect", "quantize"}) {
            Cli.Result r = Cli.run(cmd, "--help").assertOk();
            assertTrue(r.out().contains("Examples:") && r.out().contains("unet4j " + cmd), cmd + ":\n" + r.out());
        }
        Cli.Result top = Cli.run("--help").assertOk();
        assertTrue(top.out().contains("Exit codes"), top.out());
        assertTrue(Cli.run("generate", "--help").out().contains("Default: 25"), "defaults are documented");
    }

    /** A command that fails with the given {@link Error} (as a too-large allocation or a SIGBUS would). */
    @picocli.CommandLine.Command(name = "explode")
    static final class Exploding implements java.util.concurrent.Callable<Integer> {
        final Error error;

        Exploding(Error error) {
            this.error = error;
        }

        @Override
        public Integer call() {
            throw error;
        }
    }

    private static Cli.Result runExploding(Error error, String... extra) {
        java.io.StringWriter out = new java.io.StringWriter(), err = new java.io.StringWriter();
        picocli.CommandLine cl = Main.commandLine(new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
        cl.addSubcommand("explode", new picocli.CommandLine(new Exploding(error)));
        String[] args = java.util.stream.Stream.concat(java.util.stream.Stream.of("explode"), java.util.Arrays.stream(extra)).toArray(String[]::new);
        int code = Main.execute(cl, args);
        return new Cli.Result(code, out.toString(), err.toString());
    }

    @Test
    void errorsPicocliDoesNotRouteGiveTheShortMessage() {
        // picocli hands only Exceptions to the execution handler; these used to escape with a full stack trace
        Cli.Result oom = runExploding(new OutOfMemoryError("Java heap space")).assertError(1, "error: out of memory (Java heap space)");
        assertEquals(1, oom.errLines().size(), oom.err());
        Cli.Result internal = runExploding(new InternalError("a fault occurred in an unsafe memory access operation"))
                .assertError(1, "error: internal error: InternalError: a fault occurred in an unsafe memory access operation");
        assertEquals(2, internal.errLines().size(), internal.err());
        runExploding(new StackOverflowError()).assertError(1, "error: internal error: StackOverflowError");
    }

    @Test
    void controlCharactersAreEscaped() throws IOException {
        assertEquals("a\\u001b[2Jb\\u0007 \\u202e", Errors.printable("a\u001b[2Jb\u0007 \u202e"));
        // a tensor name with a terminal escape sequence in a hostile --inputs file
        Path in = dir.resolve("in.safetensors");
        new SafetensorsWriter().add("sample", new float[16 * 16], 1, 1, 16, 16).add("timestep", new float[1], 1)
                .add("x\u001b]0;owned\u0007", new float[1], 1).write(in);
        Cli.Result r = Cli.run("forward", "--inputs", in, "--output", dir.resolve("o.safetensors"))
                .assertError(1, "unexpected tensor x\\u001b]0;owned\\u0007");
        assertTrue(r.err().chars().noneMatch(c -> c == 0x1b || c == 0x07), r.err());
    }

    @Test
    void threadCountsBeyondTheCapAreRefused() {
        int max = dev.unet4j.core.kernels.dnnl.ThreadLimit.max();
        Cli.run("generate", "--threads", 20000).assertError(1, "--threads 20000 is too many threads: at most " + max);
        Cli.run("bench", "--threads", max + 1).assertError(1, "--threads " + (max + 1) + " is too many threads");
        Cli.run("inspect", "--threads", 0).assertError(1, "--threads must be >= 1, got 0");
    }
}
