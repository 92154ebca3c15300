package dev.unet4j.pipeline;

import dev.unet4j.pipeline.denoising.RunModel;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.UNet2DConditionConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The second UNet of a {@link UNetSwitch}, loaded and checked against the pipeline's, and the per-run network that
 * sends each step to one of the two (each through its own session). Owns the second UNet.
 */
final class SwitchedUNets implements AutoCloseable {
    private final UNetSwitch option;
    private final UNetModel second;

    private SwitchedUNets(UNetSwitch option, UNetModel second) {
        this.option = option;
        this.second = second;
    }

    /**
     * Loads the switch model with {@code options} (the pipeline's kernels and quantization) and checks that it shares
     * the main UNet's latent space and conditioning: in/out channels, cross_attention_dim, the SDXL add_embedding
     * inputs and, for a pipeline folder, the scheduler's prediction type. Every difference is reported at once.
     */
    static SwitchedUNets load(UNetSwitch option, UNetModel main, Path mainFolder, SchedulerConfig mainScheduler,
                              LoadOptions options) throws IOException {
        Path dir = option.model();
        boolean pipeline = Files.isRegularFile(dir.resolve("model_index.json"));
        Path unetDir = pipeline ? dir.resolve("unet") : dir;
        if (!Files.isRegularFile(unetDir.resolve("config.json"))) {
            throw new IOException(dir + ": the switch model must be a UNet folder (config.json + weights) or a pipeline folder with unet/");
        }
        UNetModel second;
        try {
            second = UNetModel.load(unetDir, options);
        } catch (IOException e) {
            throw new IOException("the switch model (" + dir + "): " + e.getMessage(), e);
        } catch (RuntimeException e) { // unsupported or mis-shaped: say which of the two UNets
            throw new IllegalArgumentException("the switch model (" + dir + "): " + e.getMessage(), e);
        }
        try {
            if (!(second instanceof UNet2DConditionModel)) {
                throw new IllegalArgumentException(unetDir + ": the switch model must be a UNet2DConditionModel");
            }
            UNet2DConditionConfig a = ((UNet2DConditionModel) main).config(), b = ((UNet2DConditionModel) second).config();
            List<String> problems = new ArrayList<>();
            differ(problems, "in_channels", a.inChannels(), b.inChannels());
            differ(problems, "out_channels", a.outChannels(), b.outChannels());
            differ(problems, "cross_attention_dim", Arrays.stream(a.crossAttentionDim()).distinct().boxed().toList(),
                    Arrays.stream(b.crossAttentionDim()).distinct().boxed().toList());
            differ(problems, "addition_embed_type", a.additionEmbedType(), b.additionEmbedType());
            differ(problems, "addition_time_embed_dim", a.additionTimeEmbedDim(), b.additionTimeEmbedDim());
            differ(problems, "projection_class_embeddings_input_dim", a.projectionClassEmbeddingsInputDim(), b.projectionClassEmbeddingsInputDim());
            Path sched = dir.resolve("scheduler/scheduler_config.json");
            if (pipeline && Files.isRegularFile(sched)) {
                differ(problems, "scheduler prediction_type", mainScheduler.predictionType(), SchedulerConfig.load(sched).predictionType());
            }
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException("the switch model " + unetDir + " does not fit the UNet of " + mainFolder
                        + " (they must share the latent space and the conditioning):\n  - " + String.join("\n  - ", problems));
            }
            return new SwitchedUNets(option, second);
        } catch (RuntimeException e) {
            second.close();
            throw e;
        }
    }

    private static void differ(List<String> problems, String field, Object main, Object other) {
        if (!Objects.equals(main, other)) problems.add(field + ": " + main + " in the main UNet, " + other + " in the switch model");
    }

    UNetModel second() {
        return second;
    }

    /**
     * The run model factory of a run executing {@code steps} steps: the main UNet on the run's session, the second
     * on a session of its own (set up by {@code setup}, as the main one), each step to the model
     * {@link UNetSwitch#mainRuns} names; MACs of both.
     */
    RunModel.Factory factory(int steps, Consumer<UNetSession> setup) {
        return (session, plan) -> {
            UNetSession other = second.newSession();
            if (setup != null) setup.accept(other);
            RunModel main = RunModel.plain(session), small = RunModel.plain(other);
            DiffusionModel net = (Latents x, ModelCall call, Conditioning cond) ->
                    (option.mainRuns(call.stepIndex(), steps) ? main : small).model().forward(x, call, cond);
            return new RunModel() {
                @Override
                public DiffusionModel model() {
                    return net;
                }

                @Override
                public long macsDone() {
                    return main.macsDone() + small.macsDone();
                }

                @Override
                public long macsFull() {
                    long a = main.macsFull(), b = small.macsFull();
                    return a < 0 || b < 0 ? -1 : a + b;
                }

                @Override
                public void close() {
                    other.close();
                }
            };
        };
    }

    @Override
    public void close() {
        second.close();
    }
}
