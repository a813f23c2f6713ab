// sheet.frag: colour of the sheet at a fragment, from the network evaluated exactly at the
// fragment's input coordinate: the grid lines, the decision boundary z3 = 0 and the fold shading
// are per fragment (crisp at any zoom, antialiased from screen-space derivatives, no line geometry).
// uniforms:  network.glsl's, u_space (0 lift, 1 plane, 2 input), u_front / u_back (vec4: sheet
//            colours; back = back faces in the lift, det J < 0 in the plane and input panels),
//            u_fold (float: 1 shades det J < 0 as the back side), u_class0 / u_class1 (vec4),
//            u_tint (float: 0..1 tint by predicted class), u_grid (vec4: origin.xy, step, width px),
//            u_grid_color (vec4), u_contour (vec4: rgb, width px in .a), u_light (vec3: towards
//            the light, lift coordinates; zero = unlit)
// varyings:  v_x (input coordinate), v_pos (panel position)
#include "network.glsl"
#include "common.glsl"

uniform float u_space;
uniform vec4 u_front;
uniform vec4 u_back;
uniform float u_fold;
uniform vec4 u_class0;
uniform vec4 u_class1;
uniform float u_tint;
uniform vec4 u_grid;
uniform vec4 u_grid_color;
uniform vec4 u_contour;
uniform vec3 u_light;
varying vec2 v_x;
varying vec3 v_pos;

void main() {
    vec2 zx;  // d z3 / d x
    float det;  // det J of input -> plane
    float z = evaluate(v_x, zx, det);

    // Grid coordinates and how many grid cells one pixel spans: where the sheet is squashed to
    // slivers (tanh saturating), per-fragment detail turns to noise, so grid and fold fade there.
    // Per axis, pixels per grid cell from the gradient's length (fwidth's |dx| + |dy| would widen
    // diagonal lines by up to sqrt(2)).
    vec2 g = (v_x - u_grid.xy) / u_grid.z;
    vec2 gx = dFdx(g);
    vec2 gy = dFdy(g);
    vec2 fw = max(sqrt(gx * gx + gy * gy), vec2(1e-6));
    float resolved = 1.0 - smoothstep(0.12, 0.25, max(fw.x, fw.y));

    float back;
    if (u_space < 0.5) back = gl_FrontFacing ? 0.0 : 1.0;
    else back = (u_fold > 0.5 && det < 0.0) ? resolved : 0.0;
    vec4 base = mix(u_front, u_back, back);
    vec3 rgb = mix(base.rgb, (z > 0.0 ? u_class1 : u_class0).rgb, u_tint);

    if (dot(u_light, u_light) > 0.0) {
        // Two-sided diffuse light from the surface's own screen-space derivatives.
        vec3 n = normalize(cross(dFdx(v_pos), dFdy(v_pos)));
        rgb *= 0.62 + 0.38 * abs(dot(n, u_light));
    }

    vec2 d = abs(fract(g + 0.5) - 0.5) / fw;
    rgb = mix(rgb, u_grid_color.rgb, u_grid_color.a * resolved * line_alpha(min(d.x, d.y), u_grid.w));

    // The decision boundary z3 = 0, exact per fragment. Its distance in pixels comes from z3's
    // exact gradient times v_x's screen derivatives (v_x is interpolated, so these are smooth): a
    // finite difference of z3 itself spans a wide input range where the sheet is squashed, and
    // drew stray contour pixels along the sheet's saturated edges.
    float c = line_alpha(abs(z) / max(length(vec2(dot(zx, dFdx(v_x)), dot(zx, dFdy(v_x)))), 1e-9), u_contour.a);
    rgb = mix(rgb, u_contour.rgb, c);

    // Premultiplied: the lift blends it over, the plane and input panels multiply it in.
    gl_FragColor = vec4(rgb * base.a, base.a);
}
