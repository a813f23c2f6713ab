// surface.vert: the exact decision surface in the lift (k = 3), built on the GPU from uniforms.
// The condition w3 . act(W2 h1 + b2) + b3 = 0 depends on h1 only through u = W2 h1, so the surface
// is ruled: each point u of the decision curve w3 . act(u + b2) + b3 = 0 gives the line W2 h1 = u,
// along W2's null space. Rows are spaced evenly in tau = sigma . u = c . h1 over the range box (so
// evenly across the lift, wherever act saturates); each row's u is found by bisection along p,
// on which the logit falls strictly; a_st.y runs along the row's line, clipped to the box
// (Liang-Barsky). geometry.decision_surface is the numpy twin.
// attributes: a_st (vec2 in [0, 1]^2, uploaded once)
// uniforms:   network.glsl's, u_sigma (vec4: sigma.xy, p.xy), u_tau (vec2: tau's range on the box),
//             u_half (float: bisection bracket half-width), u_pinv (mat4: pinv(W2), 3 x 2,
//             padded), u_null (vec4: unit null direction of W2), u_box (vec2: act's range, lo hi)
// varyings:   v_pos (lift position), v_keep (1 where the row's line meets the box), v_normal (the
//             surface's exact normal, the gradient of its logit, for smooth shading)
// hooks:      $transform
#include "network.glsl"

attribute vec2 a_st;
uniform vec4 u_sigma;
uniform vec2 u_tau;
uniform float u_half;
uniform mat4 u_pinv;
uniform vec4 u_null;
uniform vec2 u_box;
varying vec3 v_pos;
varying float v_keep;
varying vec3 v_normal;

void main() {
    vec2 sigma = u_sigma.xy;
    vec2 p = u_sigma.zw;
    vec2 origin = mix(u_tau.x, u_tau.y, a_st.x) * sigma / dot(sigma, sigma);
    float a = -u_half;
    float b = u_half;
    for (int i = 0; i < 40; i++) {
        float x = 0.5 * (a + b);
        if (logit(act(vec4(origin + x * p + u_b2.xy, 0.0, 0.0)).xy) > 0.0) a = x;
        else b = x;
    }
    vec2 u = origin + 0.5 * (a + b) * p;
    vec3 base = (u_pinv * vec4(u, 0.0, 0.0)).xyz;
    float s0 = -1e9;
    float s1 = 1e9;
    for (int i = 0; i < 3; i++) {
        float v = u_null[i];
        float q = base[i];
        if (abs(v) > 1e-9) {
            float t0 = (u_box.x - q) / v;
            float t1 = (u_box.y - q) / v;
            s0 = max(s0, min(t0, t1));
            s1 = min(s1, max(t0, t1));
        } else if (q < u_box.x || q > u_box.y) {
            s1 = s0 - 1.0;
        }
    }
    v_keep = s1 > s0 ? 1.0 : 0.0;
    vec3 h1 = base + (v_keep > 0.5 ? mix(s0, s1, a_st.y) : 0.0) * u_null.xyz;
    v_pos = lift_view(vec4(h1, 0.0));
    // d logit / d h1 = W2^T diag(act'(W2 h1 + b2)) w3, seen through the lift's view map (k = 3: M
    // is the identity, so normals map as vectors do).
    vec4 a2;
    act_and_grad(u_W2 * vec4(h1, 0.0) + u_b2, a2);
    v_normal = (u_M * ((vec4(u_out.xy, 0.0, 0.0) * a2) * u_W2)).xyz;
    gl_Position = $transform(vec4(v_pos, 1.0));
}
