// sheet.vert: the input square mapped through the network into one panel, and the network's
// values at the vertex for the fragments to interpolate: on a software rasterizer a panel's
// fragments (many times over where the sheet folds onto itself) outnumber a 128^2 mesh's vertices
// by 10-50x, so the forward pass, det J's crease function and their gradients run here, once per
// vertex; sheet.frag draws contours from the interpolated values and gradients (see v_net).
// attributes: a_x (vec2: input coordinate, uploaded once)
// uniforms:   network.glsl's and anatomy.glsl's (u_stage), u_space (float: 0 lift, 1 plane, 2 input)
// varyings:   v_x (input coordinate), v_pos (panel position, for the lift's lighting),
//             v_net (vec3: z3 - g . x / 2, the signed confidence tanh(z3 / 2) = 2p - 1, and
//             F - f . x / 2, with F the crease function and g, f the gradients of z3 and F at the
//             vertex: a fragment adds g . x / 2 with the interpolated g and its own x, which makes it
//             the mean of linear interpolation and of the corners' first-order Taylor expansions;
//             their errors are opposite, so the mean is exact for quadratics),
//             v_grads (vec4: d z3 / dx in .xy, d F / dx in .zw)
// hooks:      $transform (VisPy: panel coordinates -> clip space)
#include "network.glsl"
#include "anatomy.glsl"

attribute vec2 a_x;
uniform float u_space;
varying vec2 v_x;
varying vec3 v_pos;
varying vec3 v_net;
varying vec4 v_grads;

void main() {
    vec4 h1;
    vec2 h2;
    vec2 zx;
    float fold;
    vec2 fx;
    float z = evaluate(a_x, h1, h2, zx, fold, fx);
    float e = exp(-abs(z));
    v_net = vec3(z - 0.5 * dot(zx, a_x), sign(z) * (1.0 - e) / (1.0 + e), fold - 0.5 * dot(fx, a_x));
    v_grads = vec4(zx, fx);
    v_x = a_x;
    // (the anatomy's stages are computed anew; the panel's own placement reuses the pass above)
    v_pos = u_stage >= 0.0 && u_space < 0.5 ? stage_position(a_x, u_stage) : place_at(a_x, h1, h2, u_space);
    gl_Position = $transform(vec4(v_pos, 1.0));
}
