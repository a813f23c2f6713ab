// sheet.frag: colour of the sheet at a fragment, from the network's values that sheet.vert
// evaluated at the vertices, interpolated: the grid lines, the decision boundary z3 = 0 and the
// fold's crease det J = 0 are drawn per fragment from them (crisp at any zoom, antialiased from
// screen-space derivatives, no line geometry), with no transcendental function per fragment.
// uniforms:  u_act (network.glsl's: 2 = relu), u_space (0 lift, 1 plane, 2 input), u_front /
//            u_back (vec4: sheet colours; back = the lift's back faces), u_class0 / u_class1 (vec4), u_tint (float:
//            the strongest tint by predicted class, at full confidence), u_grid (vec4: origin.xy,
//            step, width px), u_grid_color (vec4), u_contour (vec4: rgb, width px in .a),
//            u_crease (vec4: rgb, width px in .a; 0 = no crease), u_light (vec3: towards the
//            light, lift coordinates; zero = unlit), u_capped (float: 1 for the plane and input
//            panels, whose blend caps how dark self-overlap gets, see visuals.SheetVisual; the
//            colour then goes out as what the sheet takes away from (light theme, u_capped 1) or
//            adds to (dark theme, u_capped 2) the picture)
// varyings:  v_x (input coordinate), v_pos (panel position), v_net (z3 and F less half their
//            gradients' dot with x, tanh(z3 / 2)), v_grads (d z3 / dx, d F / dx), see sheet.vert
// defines:   SHEET_LIT (the lift: back faces in u_back, lit by u_light), SHEET_CONTOUR (draw
//            z3 = 0 by u_contour), SHEET_CREASE (draw the crease by u_crease; a network that
//            cannot fold, k = 2 with a smooth activation, goes without). Compiled in or out, not
//            switched by uniforms: llvmpipe runs a branch on a uniform for every fragment all the
//            same (visuals.SheetVisual).
#include "common.glsl"

uniform float u_act;
uniform float u_space;
uniform vec4 u_front;
uniform vec4 u_back;
uniform vec4 u_class0;
uniform vec4 u_class1;
uniform float u_tint;
uniform vec4 u_grid;
uniform vec4 u_grid_color;
uniform vec4 u_contour;
uniform vec4 u_crease;
uniform vec3 u_light;
uniform float u_capped;
varying vec2 v_x;
varying vec3 v_pos;
varying vec3 v_net;
varying vec4 v_grads;

void main() {
    vec2 zx = v_grads.xy;  // d z3 / d x
    vec2 fx = v_grads.zw;  // d F / d x
    // z3 and F here: linear interpolation of the corners' values overshoots a curved function by
    // half the Hessian's quadratic form, the corners' Taylor expansions undershoot by the same; the
    // mean of the two is exact for quadratics (on a 64^2 mesh, a trained run's 2.2 px crease lies
    // at most 1.48 px from the exact curve with it, 1.6 px with plain interpolation).
    float z = v_net.x + 0.5 * dot(zx, v_x);
    float fold = v_net.z + 0.5 * dot(fx, v_x);  // the crease function F (det J = 0 where F = 0)

    // Grid coordinates and how many grid cells one pixel spans: where the sheet is squashed to
    // slivers (tanh saturating), per-fragment detail turns to noise, so grid, the two sides' colours
    // and the lighting fade to their averages there (no speckle that shimmers as the camera turns).
    // Per axis, pixels per grid cell from the gradient's length (fwidth's |dx| + |dy| would widen
    // diagonal lines by up to sqrt(2)).
    vec2 g = (v_x - u_grid.xy) / u_grid.z;
    vec2 gx = dFdx(g);
    vec2 gy = dFdy(g);
    vec2 fw = max(sqrt(gx * gx + gy * gy), vec2(1e-6));
    float resolved = 1.0 - smoothstep(0.12, 0.25, max(fw.x, fw.y));

#ifdef SHEET_LIT
    float back = u_space < 0.5 ? mix(0.5, gl_FrontFacing ? 0.0 : 1.0, resolved) : 0.0;
    vec4 base = mix(u_front, u_back, back);
#else
    vec4 base = u_front;
#endif
    // The class tint follows the network's confidence |2p - 1| = |tanh(z3 / 2)|, so a region fades
    // through neutral as the line passes over it instead of flipping colour between two frames.
    vec3 rgb = mix(base.rgb, (v_net.y > 0.0 ? u_class1 : u_class0).rgb, u_tint * abs(v_net.y));

#ifdef SHEET_LIT
    if (dot(u_light, u_light) > 0.0) {
        // Two-sided diffuse light from the surface's own screen-space derivatives.
        vec3 n = normalize(cross(dFdx(v_pos), dFdy(v_pos)));
        rgb *= 0.62 + 0.38 * mix(0.5, abs(dot(n, u_light)), resolved);
    }
#endif

    vec2 d = abs(fract(g + 0.5) - 0.5) / fw;
    rgb = mix(rgb, u_grid_color.rgb, u_grid_color.a * resolved * line_alpha(min(d.x, d.y), u_grid.w));

    // Distances in pixels to the curves z3 = 0 and F = 0 come from their exact gradients times v_x's
    // screen derivatives (v_x is interpolated, so these are smooth): a finite difference of the
    // value itself spans a wide input range where the sheet is squashed, and drew stray pixels
    // along the sheet's saturated edges.
    vec2 dx = dFdx(v_x);
    vec2 dy = dFdy(v_x);
#ifdef SHEET_CONTOUR
    float c = line_alpha(abs(z) / max(length(vec2(dot(zx, dx), dot(zx, dy))), 1e-9), u_contour.a);
    rgb = mix(rgb, u_contour.rgb, c);
#endif

#ifdef SHEET_CREASE
    if (u_crease.a > 0.0) {
        // The crease, dashed along the curve (8 px on, 5 off) in a neutral tone of its own.
        float k;
        if (u_act > 1.5) {
            // relu: det J is piecewise constant; the crease is where its sign flips between pixels.
            float s = sign(fold);
            k = step(1.5, max(abs(dFdx(s)), abs(dFdy(s))));
        } else {
            vec2 screen = vec2(dot(fx, dx), dot(fx, dy));
            float len = length(screen);
            k = len > 0.0 ? line_alpha(abs(fold) / len, u_crease.a) : 0.0;
            vec2 along = len > 0.0 ? vec2(-screen.y, screen.x) / len : vec2(0.0);
            k *= step(fract(dot(gl_FragCoord.xy, along) / 13.0), 8.0 / 13.0);
        }
        rgb = mix(rgb, u_crease.rgb, k);
    }
#endif

    if (u_capped > 1.5) gl_FragColor = vec4(rgb * base.a, base.a);
    else if (u_capped > 0.5) gl_FragColor = vec4((1.0 - rgb) * base.a, base.a);
    else gl_FragColor = vec4(rgb * base.a, base.a);  // premultiplied, blended over (the lift)
}
