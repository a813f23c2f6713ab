// network.glsl: the network's forward pass, shared by every deform3d shader (included, never
// compiled alone). GLSL 120: no tanh, so it is written from exp; k <= 4 is packed into vec4/mat4
// with zero padding, so one shader serves k = 2, 3 and 4. Matrices arrive transposed from numpy
// (row-major) so that `u_W1 * v` here is W1 v of docs/design.md.
//
// uniforms: u_W1 (mat4: W1, k x 2, padded)    u_b1 (vec4: b1, padded)
//           u_W2 (mat4: W2, 2 x k, padded)    u_b2 (vec4: b2 in .xy)
//           u_out (vec4: w3.x, w3.y, b3, 0)   u_act (float: 0 tanh, 1 sigmoid, 2 relu)
//           u_M (mat4: lift -> 3-D view, 3 x 4, padded)   u_c (vec4: the projection's centre)
//           u_minors_a, u_minors_b (vec3: det W2[:, ij] * det W1[ij, :] for the index pairs
//           ij = 01 02 03 | 12 13 23, geometry.fold_minors, for the crease function)
// functions: act(z), act_and_grad(z, out act'(z)) (the hidden activation), lift(x) -> h1,
//            plane(h1) -> h2, logit(h2) -> z3, crease(...) -> the fold's crease function,
//            evaluate(x, out h1, out h2, out dz3/dx, out F, out dF/dx) -> z3 (all of the network
//            at x in one pass), lift_view(h1) -> 3-D point, place(x, space) -> position of input
//            x in a panel, place_at(x, h1, h2, space) -> the same from h1 and h2 already known

uniform mat4 u_W1;
uniform vec4 u_b1;
uniform mat4 u_W2;
uniform vec4 u_b2;
uniform vec4 u_out;
uniform float u_act;
uniform mat4 u_M;
uniform vec4 u_c;
uniform vec3 u_minors_a;
uniform vec3 u_minors_b;

vec4 act(vec4 z) {
    if (u_act < 0.5) {
        // tanh(z) = sign(z) (1 - e) / (1 + e), e = exp(-2|z|): never overflows
        vec4 e = exp(-2.0 * abs(z));
        return sign(z) * (1.0 - e) / (1.0 + e);
    }
    if (u_act < 1.5) {
        vec4 e = exp(-abs(z));
        return mix(e / (1.0 + e), 1.0 / (1.0 + e), step(0.0, z));
    }
    return max(z, 0.0);
}

// act(z), and act'(z) in `grad`, from one exp; act' is written so that it keeps its precision
// where act saturates (1 - h*h would cancel to 0 and lose the sign of det J there).
vec4 act_and_grad(vec4 z, out vec4 grad) {
    if (u_act < 0.5) {
        vec4 e = exp(-2.0 * abs(z));
        vec4 r = 1.0 / (1.0 + e);
        grad = 4.0 * e * r * r;
        return sign(z) * (1.0 - e) * r;
    }
    if (u_act < 1.5) {
        vec4 e = exp(-abs(z));
        vec4 r = 1.0 / (1.0 + e);
        grad = e * r * r;
        return mix(e * r, r, step(0.0, z));
    }
    grad = vec4(greaterThan(z, vec4(0.0)));
    return max(z, 0.0);
}

vec4 lift(vec2 x) {
    return act(u_W1 * vec4(x, 0.0, 0.0) + u_b1);
}

vec2 plane(vec4 h1) {
    return act(u_W2 * h1 + u_b2).xy;
}

float logit(vec2 h2) {
    return dot(u_out.xy, h2) + u_out.z;
}

// log(1 / act'(z)) per unit and its derivative in z (in `slope`), stable for any z where act'
// itself underflows to 0 (tanh: 1/act' = cosh^2 z; sigmoid: (1 + e)^2 / e, e = exp(-|z|)).
vec4 log_inverse_grad(vec4 z, vec4 h, out vec4 slope) {
    vec4 a = abs(z);
    if (u_act < 0.5) {
        slope = 2.0 * h;
        return 2.0 * a + 2.0 * log(1.0 + exp(-2.0 * a)) - 1.3862944;
    }
    slope = 2.0 * h - 1.0;
    return a + 2.0 * log(1.0 + exp(-a));
}

// The fold's crease function F at x (geometry.crease is its numpy twin): det J has the sign of
// F = sum over unit pairs ij of m_ij prod_{l not in ij} g_l, g = 1/act'(z1), m = the minors
// (Cauchy-Binet, divided by the product of all act'(z1)). Scaled by its largest live product so
// that it stays O(|m|) where tanh saturates; its zero set is the crease det J = 0. Sets `grad` to
// dF/dx (the scale taken as constant: exact on the crease). k = 2: F is constant, grad 0. relu has
// no smooth F: it returns the sign of det J's sum and grad 0 (the shader finds sign changes).
float crease(vec4 z1, vec4 h1, vec4 a1, out vec2 grad) {
    grad = vec2(0.0);
    if (u_act > 1.5) {
        return dot(a1.x * a1.yzw, u_minors_a) + dot(vec3(a1.y * a1.z, a1.y * a1.w, a1.z * a1.w), u_minors_b);
    }
    vec4 slope;
    vec4 L = log_inverse_grad(z1, h1, slope);
    vec3 la = L.zyy + L.wwz;  // pairs 01 02 03: the logs of g over the units they leave out
    vec3 lb = L.xxx + L.wzy;  // pairs 12 13 23
    vec3 live_a = vec3(notEqual(u_minors_a, vec3(0.0)));
    vec3 live_b = vec3(notEqual(u_minors_b, vec3(0.0)));
    if (dot(live_a, live_a) + dot(live_b, live_b) < 0.5) return 1.0;
    vec3 big = vec3(-1e30);
    vec3 top3 = max(mix(big, la, live_a), mix(big, lb, live_b));
    float top = max(top3.x, max(top3.y, top3.z));
    vec3 ta = u_minors_a * exp(min(la - top, 0.0)) * live_a;  // terms m_ij P_ij
    vec3 tb = u_minors_b * exp(min(lb - top, 0.0)) * live_b;
    // dF/dx = sum_l slope_l W1_l (sum of the terms whose pair leaves l out); W1_l is row l of W1.
    vec4 r = vec4(tb.x + tb.y + tb.z, ta.y + ta.z + tb.z, ta.x + ta.z + tb.y, ta.x + ta.y + tb.x);
    vec4 s = slope * r;
    grad = vec2(dot(u_W1[0], s), dot(u_W1[1], s));
    return ta.x + ta.y + ta.z + tb.x + tb.y + tb.z;
}

// The whole network at input x in one pass: returns z3, and sets h1 and h2 (the layers' values),
//   grad  = d z3 / d x = W1^T diag(act'(z1)) W2^T diag(act'(z2)) w3   (v * M is M^T v in GLSL)
//   fold  = the crease function F (see crease) and `fold_grad` = dF/dx
float evaluate(vec2 x, out vec4 h1, out vec2 h2, out vec2 grad, out float fold, out vec2 fold_grad) {
    vec4 a1;
    vec4 a2;
    vec4 z1 = u_W1 * vec4(x, 0.0, 0.0) + u_b1;
    h1 = act_and_grad(z1, a1);
    h2 = act_and_grad(u_W2 * h1 + u_b2, a2).xy;
    grad = (((vec4(u_out.xy, 0.0, 0.0) * a2) * u_W2) * a1 * u_W1).xy;
    fold = crease(z1, h1, a1, fold_grad);
    return logit(h2);
}

vec3 lift_view(vec4 h1) {
    return (u_M * (h1 - u_c)).xyz;
}

// space: 0 the lift (3-D view), 1 the plane (h2, z = 0), 2 the input plane itself; placed from the
// layers' values at x where they are known (place_at), else computed (place)
vec3 place_at(vec2 x, vec4 h1, vec2 h2, float space) {
    if (space < 0.5) return lift_view(h1);
    if (space < 1.5) return vec3(h2, 0.0);
    return vec3(x, 0.0);
}

vec3 place(vec2 x, float space) {
    vec4 h1 = lift(x);
    return place_at(x, h1, plane(h1), space);
}
