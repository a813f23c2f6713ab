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
//           ij = 01 02 03 | 12 13 23, for evaluate's Cauchy-Binet sum for det J)
// functions: act(z), act_and_grad(z, out act'(z)) (the hidden activation), lift(x) -> h1,
//            plane(h1) -> h2, logit(h2) -> z3, evaluate(x, out d z3/dx, out det J) -> z3 (all of
//            the network at x in one pass, for fragments), lift_view(h1) -> 3-D point,
//            place(x, space) -> position of input x in a panel

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

// The whole network at input x in one pass, for fragment shaders: returns z3, and sets
//   grad = d z3 / d x = W1^T diag(act'(z1)) W2^T diag(act'(z2)) w3   (v * M is M^T v in GLSL)
//   det  = det J, J = diag(act'(z2)) W2 diag(act'(z1)) W1, the Jacobian of input -> plane. By
//          Cauchy-Binet det(W2 diag(a1) W1) = sum over i < j of a1_i a1_j det W2[:, ij] det W1[ij, :],
//          a sum of a few well-conditioned terms, so its sign holds even where tanh saturates.
float evaluate(vec2 x, out vec2 grad, out float det) {
    vec4 a1;
    vec4 a2;
    vec4 h1 = act_and_grad(u_W1 * vec4(x, 0.0, 0.0) + u_b1, a1);
    vec2 h2 = act_and_grad(u_W2 * h1 + u_b2, a2).xy;
    grad = (((vec4(u_out.xy, 0.0, 0.0) * a2) * u_W2) * a1 * u_W1).xy;
    det = a2.x * a2.y * (dot(a1.x * a1.yzw, u_minors_a) + dot(vec3(a1.y * a1.z, a1.y * a1.w, a1.z * a1.w), u_minors_b));
    return logit(h2);
}

vec3 lift_view(vec4 h1) {
    return (u_M * (h1 - u_c)).xyz;
}

// space: 0 the lift (3-D view), 1 the plane (h2, z = 0), 2 the input plane itself
vec3 place(vec2 x, float space) {
    if (space < 0.5) return lift_view(lift(x));
    if (space < 1.5) return vec3(plane(lift(x)), 0.0);
    return vec3(x, 0.0);
}
