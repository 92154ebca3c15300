package dev.unet4j.caching;

import dev.unet4j.caching.policy.AdaptiveCache;
import dev.unet4j.caching.policy.AutoCalibration;
import dev.unet4j.caching.policy.BalancedSkipping;
import dev.unet4j.caching.policy.CfgCache;
import dev.unet4j.caching.policy.DeepCache;
import dev.unet4j.caching.policy.EncoderPropagation;
import dev.unet4j.caching.policy.FeatureInheritance;
import dev.unet4j.caching.policy.Forecast;
import dev.unet4j.caching.policy.FreeU;
import dev.unet4j.caching.policy.ScaleLong;
import dev.unet4j.caching.policy.SkipTuning;
import dev.unet4j.caching.policy.TGate;
import dev.unet4j.caching.policy.ToMe;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Parsing and composing {@link CachePolicy} text forms: {@code name:args}, combined with {@code +}. */
public final class CachePolicies {
    private CachePolicies() {
    }

    private static final Map<String, Function<String, CachePolicy>> PARSERS = new LinkedHashMap<>();

    static {
        PARSERS.put("none", a -> {
            if (a != null && !a.isBlank()) throw new IllegalArgumentException("cache policy 'none' takes no arguments, got '" + a + "'");
            return CachePolicies.NONE;
        });
        PARSERS.put(DeepCache.NAME, DeepCache::parse);
        PARSERS.put(EncoderPropagation.NAME, EncoderPropagation::parse);
        PARSERS.put(FeatureInheritance.NAME, FeatureInheritance::parse);
        PARSERS.put(SkipTuning.NAME, SkipTuning::parse);
        PARSERS.put(ScaleLong.NAME, ScaleLong::parse);
        PARSERS.put(FreeU.NAME, FreeU::parse);
        PARSERS.put(BalancedSkipping.NAME, BalancedSkipping::parse);
        PARSERS.put(AdaptiveCache.NAME, AdaptiveCache::parse);
        PARSERS.put(TGate.NAME, TGate::parse);
        PARSERS.put(CfgCache.NAME, CfgCache::parse);
        PARSERS.put(Forecast.NAME, Forecast::parse);
        PARSERS.put(ToMe.NAME, ToMe::parse);
        PARSERS.put(AutoCalibration.NAME, AutoCalibration::parse);
    }

    /** Full compute: no interception at all beyond tracing. */
    public static final CachePolicy NONE = new CachePolicy() {
        @Override
        public String spec() {
            return "none";
        }

        @Override
        public PolicyRun start(RunContext context) {
            return new PolicyRun() {
                @Override
                public long bytesHeld() {
                    return 0;
                }

                @Override
                public void close() {
                }
            };
        }
    };

    /** The policy names {@link #parse} knows. */
    public static List<String> names() {
        return List.copyOf(PARSERS.keySet());
    }

    /**
     * Parses {@code deepcache:interval=3,branch=0}, {@code freeu:b1=1.5,b2=1.6,s1=0.9,s2=0.2+deepcache:interval=2},
     * {@code faster:preset=50,noise=0.003,noise-below=500;parallel} (encoder propagation with the paper's prior-noise
     * injection, see {@link EncoderPropagation}), ... Errors name the bad token and list the valid names or keys.
     */
    public static CachePolicy parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty cache policy; valid names: " + String.join(", ", names()));
        List<CachePolicy> parts = new ArrayList<>();
        for (String part : text.split("\\+", -1)) {
            String p = part.trim();
            if (p.isEmpty()) throw new IllegalArgumentException("cache policy '" + text + "' has an empty part around '+'");
            int colon = p.indexOf(':');
            String name = colon < 0 ? p : p.substring(0, colon).trim();
            String args = colon < 0 ? null : p.substring(colon + 1);
            Function<String, CachePolicy> parser = PARSERS.get(name);
            if (parser == null) {
                throw new IllegalArgumentException("unknown cache policy '" + name + "' in '" + text + "'; valid names: " + String.join(", ", names()));
            }
            parts.add(parser.apply(args));
        }
        return compose(parts);
    }

    /** The policies applied together, the first outermost (it sees the node outputs the later ones produce). */
    public static CachePolicy compose(List<CachePolicy> policies) {
        List<CachePolicy> flat = new ArrayList<>();
        for (CachePolicy p : policies) flat.addAll(parts(p));
        if (flat.isEmpty()) throw new IllegalArgumentException("nothing to compose");
        long callLevel = flat.stream().filter(CachePolicy::callLevel).count();
        if (callLevel > 1) {
            throw new IllegalArgumentException("at most one call-level policy (encoder propagation) per composition, got "
                    + flat.stream().filter(CachePolicy::callLevel).map(CachePolicy::spec).toList());
        }
        return flat.size() == 1 ? flat.get(0) : new Composite(flat);
    }

    /** The parts of a composition (the policy itself if it is not one). */
    public static List<CachePolicy> parts(CachePolicy p) {
        return p instanceof Composite c ? c.parts() : List.of(p);
    }

    record Composite(List<CachePolicy> parts) implements CachePolicy {
        Composite {
            parts = List.copyOf(parts);
        }

        @Override
        public String spec() {
            return String.join("+", parts.stream().map(CachePolicy::spec).toList());
        }

        @Override
        public PolicyRun start(RunContext context) {
            throw new UnsupportedOperationException("a composition is started part by part by CacheSession");
        }
    }
}
