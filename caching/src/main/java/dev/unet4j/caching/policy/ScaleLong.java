package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.caching.UNetStructure;

import java.util.List;
import java.util.Set;

/**
 * ScaleLong (Huang et al. 2023) constant scaling of the long skip connections: {@code kappa^i} for the i-th skip
 * counted from the outermost ({@code skip.0}, conv_in's output, gets {@code kappa^0 = 1}), or the constant
 * {@code 1/sqrt(2)} on every skip ({@code mode=sqrt2}).
 */
public record ScaleLong(Mode mode, double kappa) implements CachePolicy {
    public static final String NAME = "scalelong";

    public enum Mode { KAPPA, SQRT2 }

    public ScaleLong {
        if (mode == Mode.KAPPA && !(kappa > 0)) throw new IllegalArgumentException("scalelong: kappa must be > 0, got " + kappa);
    }

    public static ScaleLong parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("kappa", "mode"), Set.of(), Set.of());
        String m = a.string("mode", a.has("kappa") ? "kappa" : "sqrt2");
        a.require(m.equals("kappa") || m.equals("sqrt2"), "mode", "kappa or sqrt2");
        if (m.equals("sqrt2")) {
            a.require(!a.has("kappa"), "kappa", "allowed with mode=sqrt2");
            return new ScaleLong(Mode.SQRT2, Math.sqrt(0.5));
        }
        return new ScaleLong(Mode.KAPPA, a.number("kappa", 0.7));
    }

    @Override
    public String spec() {
        return mode == Mode.SQRT2 ? NAME + ":mode=sqrt2" : NAME + ":kappa=" + kappa;
    }

    public double[] factors(UNetStructure s) {
        double[] f = new double[s.skipCount()];
        for (int k = 0; k < f.length; k++) f[k] = mode == Mode.SQRT2 ? Math.sqrt(0.5) : Math.pow(kappa, k);
        return f;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        return new SkipScaling(factors(ctx.structure())) {
        };
    }
}
