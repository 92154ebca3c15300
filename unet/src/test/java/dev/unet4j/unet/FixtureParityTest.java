package dev.unet4j.unet;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/** Every public fixture: the output and every stored intermediate tensor, on both backends. */
class FixtureParityTest {

    static Stream<Arguments> cases() {
        return Stream.of(Fixture.DDPM, Fixture.SD).flatMap(f -> Stream.of(
                Arguments.of(f, "reference"), Arguments.of(f, "onednn")));
    }

    static Kernels kernels(String name) {
        return name.equals("reference") ? new ReferenceKernels() : new DnnlKernels();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void outputAndEveryStoredTensorMatchDiffusers(String fixture, String backend) throws Exception {
        try (Fixture f = new Fixture(fixture);
             UNetModel model = f.load(kernels(backend));
             UNetSession s = model.newSession()) {
            Map<String, String> names = f.allOutputNames();
            s.capture(names.keySet());
            try (Tensor out = s.forward(f.inputs())) {
                Fixture.assertClose(fixture + " sample", f.outputs.get("sample"), out);
            }
            for (Map.Entry<String, String> e : names.entrySet()) {
                if (e.getKey().equals("sample")) continue;
                Tensor got = s.captured(e.getKey());
                assertNotNull(got, fixture + ": nothing captured for " + e.getKey());
                Fixture.assertClose(fixture + " " + e.getKey(), f.outputs.get(e.getValue()), got);
            }
        }
    }
}
